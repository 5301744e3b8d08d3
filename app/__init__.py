"""planbridge: strategic plans turned into owned action items in the trackers teams already use."""

__version__ = "0.1.0"
