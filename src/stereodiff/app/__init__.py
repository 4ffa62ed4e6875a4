"""The web app (``stereodiff app``, Gradio) and the 4-D viewer (``stereodiff view``, viser): optional extra ``app``.

``jobs`` holds everything the app does that is not web UI (inputs, limits, one run, downloads), so it is usable
and testable without Gradio; ``ui`` builds the page.
"""
