"""Device discovery by USB id, on stand-in port lists and a stand-in Linux USB device tree."""
from __future__ import annotations

import types

import pytest

from tinybench import devices
from tinybench.errors import UserError


def port(device, vid, pid, serial_number="", description=""):
    return types.SimpleNamespace(device=device, vid=vid, pid=pid, serial_number=serial_number,
                                 description=description)


def sysfs(tmp_path, entries):
    """A /sys/bus/usb/devices look-alike: one folder per (vid, pid, serial, product)."""
    for i, (vid, pid, serial_number, product) in enumerate(entries):
        folder = tmp_path / f"1-{i}"
        folder.mkdir()
        (folder / "idVendor").write_text(f"{vid:04x}\n")
        (folder / "idProduct").write_text(f"{pid:04x}\n")
        (folder / "serial").write_text(serial_number + "\n")
        (folder / "product").write_text(product + "\n")
    (tmp_path / "usb1").mkdir()          # root hubs and interfaces have no ids of their own here
    return devices._usb_devices(tmp_path)


SERIAL_PORTS = [
    port("/dev/ttyACM0", 0x0483, 0x374B, "066DFF", "STM32 STLink"),
    port("/dev/ttyACM1", 0x0483, 0x5740, "PS0001", "STM32 Virtual ComPort"),
    port("/dev/ttyACM2", 0x2341, 0x0043, "A1", "Arduino Uno"),
    port("/dev/ttyUSB0", 0x0403, 0x6001, "FT1", "FT232R"),     # not ours
    port("/dev/pts/3", None, None),                              # a pty has no USB id
]


def test_scan_recognises_boards_monitors_and_interface_boards(tmp_path):
    usb = sysfs(tmp_path, [(0x16D0, 0x10BA, "000415", "Joulescope JS220"),
                           (0x0483, 0x374B, "066DFF", "STM32 STLink"),    # also a serial port
                           (0x1D6B, 0x0002, "", "root hub")])
    found = devices.scan(SERIAL_PORTS, usb)
    summary = [(d.role, d.name, d.port, d.usb_id) for d in found]
    assert summary == [
        ("dut", "ST-LINK/V2-1 (NUCLEO-L4R5ZI)", "/dev/ttyACM0", "0483:374b"),
        ("power", "LPM01A PowerShield", "/dev/ttyACM1", "0483:5740"),
        ("power", "Joulescope JS220", None, "16d0:10ba"),
        ("interface", "Arduino (interface board)", "/dev/ttyACM2", "2341:0043"),
    ]
    assert [d.power_spec for d in found if d.role == "power"] == ["lpm01a:/dev/ttyACM1",
                                                                  "joulescope"]
    table = devices.format_table(found)
    assert "--port /dev/ttyACM0" in table and "--power joulescope" in table
    assert "--interface /dev/ttyACM2" in table


def test_pick_one_of_each_or_say_what_to_pass():
    one_each = devices.scan(SERIAL_PORTS, [])
    assert devices.pick_port(one_each) == "/dev/ttyACM0"
    assert devices.pick_power(one_each) == "lpm01a:/dev/ttyACM1"
    assert devices.pick_interface(one_each) == "/dev/ttyACM2"
    two_boards = devices.scan(SERIAL_PORTS + [port("/dev/ttyACM5", 0x0483, 0x374B, "B2")], [])
    with pytest.raises(UserError, match=r"2 DUT boards found .*choose one with --port"):
        devices.pick_port(two_boards)
    with pytest.raises(UserError, match=r"no power monitor found by USB id .*pass --power"):
        devices.pick_power(devices.scan([SERIAL_PORTS[0]], []))


def test_devices_command(cli, monkeypatch):
    found = devices.scan(SERIAL_PORTS, [])
    monkeypatch.setattr(devices, "scan", lambda: found)
    result = cli("devices")
    assert result.exit_code == 0
    assert "LPM01A PowerShield" in result.output and "/dev/ttyACM1" in result.output
    monkeypatch.setattr(devices, "scan", lambda: [])
    result = cli("devices")
    assert result.exit_code == 0 and "no known boards" in result.output
    assert "0483:5740" in result.output
