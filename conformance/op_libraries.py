"""Op libraries: packages whose ops a model's graph may use and that must be imported before it loads
(tensorflow-text's tokenizers, tensorflow-decision-forests' SimpleML* inference ops).

Each library publishes one build per TensorFlow minor release; ``build_for`` picks the runtime's from the table
below (read off the libraries' published requirements), and a runtime with no build gets none: its cells say
so with cause ``op-library-unavailable``. Plain Python: used by the matrix (what each runtime's env installs),
the diagnosis of errors (which package an unregistered op belongs to) and the executor (what to import).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple


@dataclass(frozen=True)
class OpLibrary:
    name: str  # the distribution, as `requires:` names it
    module: str  # what the executor imports (importing it registers the ops)
    op_names: Tuple[str, ...]  # ops it registers (also any op prefixed by `op_prefixes`)
    op_prefixes: Tuple[str, ...]
    builds: Tuple[Tuple[str, str], ...]  # TensorFlow minor ("2.15") -> the requirement of its build

    def owns(self, op: str) -> bool:
        return op in self.op_names or op.startswith(self.op_prefixes)

    def build_for(self, tensorflow_version: Optional[str]) -> Optional[str]:
        """The requirement of the build made for ``tensorflow_version`` (a pinned version); None where the
        library publishes none (or the TensorFlow is not pinned: a nightly)."""
        if not tensorflow_version:
            return None
        minor = ".".join(tensorflow_version.split(".")[:2])
        return dict(self.builds).get(minor)

    def published_for(self) -> str:
        return ", ".join(minor for minor, _ in self.builds)


LIBRARIES = (
    OpLibrary(
        "tensorflow-text", "tensorflow_text",
        ("SentencepieceOp", "SentencepieceTokenizeOp", "SentencepieceTokenizeWithOffsetsOp",
         "SentencepieceDetokenizeOp", "SentencepieceIdToStringOp", "SentencepieceStringToIdOp",
         "SentencepieceVocabSizeOp", "WordpieceTokenizeWithOffsets", "FastWordpieceTokenizeWithOffsets",
         "FastWordpieceDetokenize", "RegexSplitWithOffsets", "WhitespaceTokenizeWithOffsets",
         "WhitespaceTokenizeWithOffsetsV2", "UnicodeScriptTokenizeWithOffsets", "ConstrainedSequence",
         "TokenizerFromLogits", "NormalizeUTF8", "NormalizeUTF8WithOffsetsMap", "CaseFoldUTF8",
         "SplitMergeTokenizeWithOffsets", "SplitMergeFromLogitsTokenizeWithOffsets", "FastBertNormalize",
         "MaxSpanningTree", "NgramsStringJoin", "RougeL", "SentenceFragments", "BoiseTagsToOffsets",
         "OffsetsToBoiseTags", "MathToFastBertNormalizer"),
        ("TFText>", "Sentencepiece"),
        # tensorflow-text X.Y.* requires tensorflow X.Y (1.15.1 is the last TF1 build; none for 2.13).
        (("1.15", "tensorflow-text==1.15.1"),)
        + tuple(("2.%d" % minor, "tensorflow-text~=2.%d.0" % minor) for minor in range(0, 13))
        + tuple(("2.%d" % minor, "tensorflow-text~=2.%d.0" % minor) for minor in range(14, 22))),
    OpLibrary(
        "tensorflow-decision-forests", "tensorflow_decision_forests",
        (), ("SimpleML", "YggdrasilDecisionForests>"),
        # Each tensorflow-decision-forests release is built against one TensorFlow (its own ops' ABI): 1.8.1
        # for 2.15 ... 1.12.0 for 2.19; none for TF 1.x, none yet for 2.20 and later (1.12.0's ops fail to
        # load in 2.21: undefined symbol).
        (("2.15", "tensorflow-decision-forests==1.8.1"), ("2.16", "tensorflow-decision-forests==1.9.2"),
         ("2.17", "tensorflow-decision-forests==1.10.0"), ("2.18", "tensorflow-decision-forests==1.11.0"),
         ("2.19", "tensorflow-decision-forests==1.12.0"))),
)
NAMES = [library.name for library in LIBRARIES]


def by_name(name: str) -> OpLibrary:
    for library in LIBRARIES:
        if library.name == name:
            return library
    raise KeyError("no op library %r (known: %s)" % (name, ", ".join(NAMES)))


def owner_of(op: str) -> Optional[OpLibrary]:
    """The known library that registers ``op`` (e.g. ``SentencepieceOp``: tensorflow-text), or None."""
    for library in LIBRARIES:
        if library.owns(op):
            return library
    return None


def needed_by(ops: Iterable[str]) -> Dict[str, List[str]]:
    """``{library name: [its ops]}`` for the ops of a model's graph that known libraries register."""
    found = {}  # type: Dict[str, List[str]]
    for op in sorted(set(ops)):
        library = owner_of(op)
        if library is not None:
            found.setdefault(library.name, []).append(op)
    return found
