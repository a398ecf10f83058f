"""massage-qa: offline, cited answers to back-massage questions from a small set of how-to guides."""

__version__ = "0.1.0"
