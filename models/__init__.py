"""The bundled BlazePose and Selfie Segmentation models, installed as ``edge._models`` (see README.md)."""
