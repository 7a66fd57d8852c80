"""Model parts: the stacked-LSTM backbone, input encoders and heads.

Importing this package is cheap; the Keras layers live in ``backbone``, ``encoders`` and
``heads`` and are imported only when a model is built.
"""
