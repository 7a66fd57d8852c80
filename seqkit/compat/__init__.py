"""seqkit's one home for code that depends on the private internals of other libraries.

Each module here names the version it was written for and checks, before it is relied on,
that the internals it touches are still the ones it was verified against; an upgrade that
changes them stops with an error that says so, and a test fails (as pytest's
``_pytest/compat.py`` keeps its version-dependent code in one place):

* :mod:`seqkit.compat.keras_trainer`: two private functions of Keras's TensorFlow trainer
  replaced so that ``fit`` works under ``MultiWorkerMirroredStrategy``
  (keras-team/keras#20585); checked by source hash against Keras ``VERIFIED_KERAS``.
  Checked by ``tests/test_distribute.py::test_keras_fixes_target_the_verified_keras_source``.
* :mod:`seqkit.compat.keras_tuner_oracle`: the oracle internals and private modules of
  KerasTuner that seqkit's distributed-search chief uses (``seqkit.tune.distributed``);
  checked by attribute against KerasTuner ``VERIFIED_KERAS_TUNER``. Checked by
  ``tests/test_tune.py::test_keras_tuner_internals_used_by_the_chief_still_exist``.
* :mod:`seqkit.compat.keras_saving`: Keras's private ``saving_lib.save_model`` to write a
  model to memory (checkpoints), with a temporary-file fallback when it is gone.

Nothing here imports Keras, TensorFlow or KerasTuner at import time.
"""
