"""The on-device screen: a pure renderer, a render thread, and outputs (framebuffer, luma.lcd, PNG).

``render(LcdState, size) -> RGB`` (render.py) draws; ``LcdRenderer`` (renderer.py) draws the
latest state from its own thread at a bounded rate, fed by the daemon's non-blocking ``update``
or by ``MqttFeed`` (feed.py, the ``edge-pose lcd`` unit); ``open_display`` (display.py) builds the
configured output. Importing this package imports OpenCV and numpy only: no display library.
"""

from edge.lcd.display import Display, LcdSettings, open_display
from edge.lcd.render import LcdState, render
from edge.lcd.renderer import LcdRenderer

__all__ = ["Display", "LcdRenderer", "LcdSettings", "LcdState", "open_display", "render"]
