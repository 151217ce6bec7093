"""The device under test, from the host's side: the MLPerf Tiny serial protocol (protocol.py), the
ports it runs over (transport.py), building the firmware (firmware.py) and starting emulated DUTs
(host.py for the host-native board, emulate.py from a .tflite to a running DUT)."""
