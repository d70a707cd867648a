"""A tiny MJPEG-over-HTTP camera, run as a separate process so tests can kill and restart it.

Usage: ``python mjpeg_server.py PORT SHADE [FPS]``. Serves ``multipart/x-mixed-replace`` JPEG
frames, 160x120, every pixel the grey level ``SHADE`` (so a test can tell two server runs apart).
Prints ``ready`` on stdout once listening.
"""

from __future__ import annotations

import http.server
import socketserver
import sys
import time

import cv2
import numpy as np


def main() -> None:
    port, shade = int(sys.argv[1]), int(sys.argv[2])
    fps = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    ok, jpeg = cv2.imencode(".jpg", np.full((120, 160, 3), shade, np.uint8))
    assert ok
    body = jpeg.tobytes()
    part = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(body) + body + b"\r\n"

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(part)
                    time.sleep(1.0 / fps)
            except OSError:
                return

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
