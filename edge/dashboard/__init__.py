"""The live web dashboard: every device's count, skeleton, reps and health, from MQTT.

``DashboardService`` (service.py) = ``MqttLink`` (broker.py, paho, lazy) -> ``DeviceHub``
(hub.py, cache + fan-out) -> ``DashboardHTTPServer`` (server.py, stdlib HTTP + Server-Sent Events)
-> ``static/`` (one page, vanilla JS, vendored uPlot and MQTT.js). Importing this package imports
neither paho nor anything else outside the standard library and ``edge``.
"""
