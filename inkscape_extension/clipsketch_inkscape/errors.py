"""What the extension's parts raise to one another (no GUI toolkit, no gRPC: any part may import it)."""


class SketchCancelledByUser(Exception):
    """The user pressed Cancel in the progress window: nothing is added."""
