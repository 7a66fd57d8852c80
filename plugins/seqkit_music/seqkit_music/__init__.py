"""seqkit's music plugin: learn from MIDI files and scores, generate new music as MIDI.

Tasks ``melody`` (monophonic events on a grid: note-on pitch / hold / rest; a softmax over
the next event) and ``piano_roll`` (88 binary notes a frame; independent sigmoids for the
next frame). Adapters ``midi`` (pretty_midi), ``music21`` (MusicXML / ABC / kern, and
music21's bundled Bach chorales) and ``jsb_chorales`` (the JSB Chorales JSON). The verb
``seqkit generate`` and :func:`generate` (also ``seqkit.load_run(path).generate(...)``)
sample, beam-search or continue a primer, and write MIDI and a piano-roll PNG.

Nothing here imports TensorFlow or Keras; the model code is in ``seqkit_music.layers``.
"""

from __future__ import annotations

import argparse

from seqkit.plugin_api import Command, hookimpl

__version__ = "0.1.0"
__all__ = ["generate", "Generation"]


def generate(run_or_path, steps, temperature=1.0, top_k=None, beam=None, primer=None, seed=None, out=None, png=True):
    """Generate music with a trained run: see :func:`seqkit_music.generation.generate`."""
    from seqkit_music.generation import generate as _generate

    return _generate(
        run_or_path, steps, temperature=temperature, top_k=top_k, beam=beam, primer=primer, seed=seed, out=out, png=png
    )


def __getattr__(name):
    if name == "Generation":
        from seqkit_music.generation import Generation

        return Generation
    raise AttributeError(name)


# -- command line --------------------------------------------------------------------------

GENERATE_EPILOG = """examples:
  seqkit generate runs/jsb-piano-roll/<run-id> --steps 64 --temperature 0.8 --seed 1 --out chorale.mid
  seqkit generate runs/bach-melody/<run-id> --steps 128 --top-k 5 --primer opening.mid --out melody.mid
  seqkit generate runs/bach-melody/<run-id> --steps 64 --beam 4 --out likely.mid
  seqkit generate RUN_DIR --steps 32 --temperature 0 --out greedy.mid     # greedy: deterministic

The MIDI file holds the primer (if any) followed by the N generated steps; a piano-roll
picture is written beside it (OUT.png)."""


def _add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = GENERATE_EPILOG
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a completed melody or piano_roll run")
    parser.add_argument("--steps", type=int, required=True, metavar="N", help="steps to generate after the primer")
    parser.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        metavar="T",
        help="sampling temperature; 0 is greedy and deterministic (default 1)",
    )
    parser.add_argument("--top-k", type=int, metavar="K", help="sample among the K most likely events / notes only")
    parser.add_argument("--beam", type=int, metavar="B", help="beam search with B beams instead of sampling")
    parser.add_argument(
        "--primer", metavar="FILE.mid", help="a MIDI file to continue (kept at the start of the output)"
    )
    parser.add_argument("--seed", type=int, metavar="S", help="random seed for sampling (repeatable output)")
    parser.add_argument(
        "--out", required=True, metavar="OUT.mid", help="MIDI file to write; OUT.png is written beside it"
    )
    parser.add_argument("--no-png", action="store_true", help="do not write the piano-roll picture")


def _run_generate(args: argparse.Namespace) -> int:
    result = generate(
        args.run_dir,
        steps=args.steps,
        temperature=args.temperature,
        top_k=args.top_k,
        beam=args.beam,
        primer=args.primer,
        seed=args.seed,
        out=args.out,
        png=not args.no_png,
    )
    primer = f" after a {result.primer_steps}-step primer" if result.primer_steps else ""
    print(
        f"seqkit: wrote {result.midi_path}: {result.steps} steps{primer}, {len(result.notes)} notes, "
        f"{result.seconds:.1f} s; model NLL {result.nll_per_step:.3f} nats/step"
    )
    if result.png_path:
        print(f"seqkit: wrote {result.png_path}")
    return 0


# -- hooks ---------------------------------------------------------------------------------


@hookimpl
def seqkit_register_tasks(register):
    # Imports inside the hooks: `seqkit --help` loads every plugin to list its verbs.
    from seqkit_music.tasks import MelodyTask, PianoRollTask

    register(MelodyTask())
    register(PianoRollTask())


@hookimpl
def seqkit_register_adapters(register):
    from seqkit_music.adapters import JsbChoralesAdapter, MidiAdapter, Music21Adapter

    register(MidiAdapter)
    register(Music21Adapter)
    register(JsbChoralesAdapter)


@hookimpl
def seqkit_register_encoders(register):
    from seqkit_music.specs import MelodyEncoderSpec, PianoRollEncoderSpec

    register(PianoRollEncoderSpec)
    register(MelodyEncoderSpec)


@hookimpl
def seqkit_register_heads(register):
    from seqkit_music.specs import NextEventHeadSpec, NextFrameHeadSpec

    register(NextFrameHeadSpec)
    register(NextEventHeadSpec)


@hookimpl
def seqkit_register_commands(register):
    register(
        Command(
            "generate",
            "generate music (MIDI + piano-roll PNG) with a trained melody or piano_roll run",
            _add_generate_arguments,
            _run_generate,
            description="Generate music with a trained melody or piano_roll run: sampling with temperature and "
            "top-k, beam search, or greedy (temperature 0); optionally continuing a MIDI primer.",
        )
    )
