"""The web page (``compogan serve``): a gradio app with one tab per pipeline of
:data:`compogan.pipelines.PIPELINES`, built from the pipelines' declared ports.

:mod:`.models` finds and caches the models under the ``--models`` folder, :mod:`.handlers`
turns page values into pipeline calls and results into page values (plain Python, no gradio),
:mod:`.app` lays out the page and serves it. gradio is an optional dependency (the ``web``
extra); it is imported by :mod:`.app` only.

Gradio's usage analytics are turned off before gradio is ever imported: the page must not
reach the network.
"""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
