"""What the detector plugins (faces, people, objects) share: one base, written once.

``base`` holds the option backends (a plugin's ``detector`` argument picks one), the
downscale → detect → map-back step and the found-thing record; ``sessions`` sizes and opens
the onnxruntime sessions of the learned backends inside a worker.
"""
