"""Loading the mask classifier prints nothing on standard error (LiteRT's C++ runtime announces its
CPU delegate there), while whatever else is written there in the meantime still shows. In a child
process: the runtime announces its delegate once a process, and only on the real file descriptor."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def stderr_of(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stderr


def test_loading_and_running_the_classifier_leaves_stderr_empty() -> None:
    err = stderr_of(
        """
        import numpy as np
        from maskwatch.inference.classifier import SHIPPED_CLASSIFIER, MaskClassifier

        classifier = MaskClassifier(SHIPPED_CLASSIFIER)
        s = classifier.input_size
        assert classifier.predict(np.zeros((3, s, s, 3), np.uint8)).shape == (3, 3)
        """
    )
    assert err == ""


def test_what_else_is_written_meanwhile_still_shows() -> None:
    err = stderr_of(
        """
        import os, sys
        from maskwatch.inference.classifier import DELEGATE_NOTICE, without_delegate_notice

        with without_delegate_notice():
            os.write(2, b"E: a real error\\n" + DELEGATE_NOTICE)
            print("a line from Python", file=sys.stderr)
        print("after", file=sys.stderr)
        """
    )
    assert err == "E: a real error\na line from Python\nafter\n"
