"""Finding the boards, power monitors and interface boards plugged in, by USB vendor and product id.

Serial devices (ST-LINK virtual COM ports, the LPM01A, Arduinos) come from pyserial's port list;
the Joulescopes are not serial devices, so they are looked up in Linux's USB device tree
(/sys/bus/usb/devices). The runner calls pick_port / pick_power / pick_interface so that --port,
--power and --interface can be left out when exactly one device of that kind is plugged in.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from tinybench.errors import UserError

SYSFS_USB = Path("/sys/bus/usb/devices")


@dataclass(frozen=True)
class KnownDevice:
    vid: int
    pids: tuple[int, ...] | None     # None: any product of this vendor
    role: str                        # "dut", "power" or "interface"
    name: str
    serial: bool                     # reached through a serial port


# USB ids from the official runner's device files (SPEC 2.2) and, for the JS110, Jetperch's udev
# rules. 0x0483:0x5740 is ST's generic virtual-COM-port id: any STM32 running ST's USB CDC example
# shows up as it too, so an "LPM01A" found by id alone is a guess the LPM01A client then checks
# (it must answer `powershield`).
KNOWN = (
    KnownDevice(0x0483, (0x374B,), "dut", "ST-LINK/V2-1 (NUCLEO-L4R5ZI)", True),
    KnownDevice(0x0483, (0x374E,), "interface", "STLINK-V3 (STM32H573I-DK interface board)", True),
    KnownDevice(0x0483, (0x5740,), "power", "LPM01A PowerShield", True),
    KnownDevice(0x16D0, (0x10BA,), "power", "Joulescope JS220", False),
    KnownDevice(0x16D0, (0x0E88,), "power", "Joulescope JS110", False),
    KnownDevice(0x2341, None, "interface", "Arduino (interface board)", True),
    KnownDevice(0x2A03, None, "interface", "Arduino (interface board)", True),
)
ROLES = ("dut", "power", "interface")


@dataclass(frozen=True)
class FoundDevice:
    role: str
    name: str
    vid: int
    pid: int
    port: str | None          # serial device path, None for USB-only devices
    serial_number: str = ""
    description: str = ""

    @property
    def usb_id(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}"

    @property
    def power_spec(self) -> str | None:
        """What --power takes for this device."""
        if self.role != "power":
            return None
        return f"lpm01a:{self.port}" if self.port else "joulescope"


def identify(vid: int | None, pid: int | None) -> KnownDevice | None:
    if vid is None or pid is None:
        return None
    for known in KNOWN:
        if known.vid == vid and (known.pids is None or pid in known.pids):
            return known
    return None


def _serial_ports():
    from serial.tools import list_ports
    return list_ports.comports()


def _usb_devices(root: Path = SYSFS_USB):
    """(vid, pid, serial number, product) of every USB device Linux lists."""
    if not root.is_dir():
        return []
    found = []
    for device in sorted(root.iterdir()):
        try:
            vid = int((device / "idVendor").read_text().strip(), 16)
            pid = int((device / "idProduct").read_text().strip(), 16)
        except (OSError, ValueError):
            continue
        def text(name):
            try:
                return (device / name).read_text().strip()
            except OSError:
                return ""
        found.append((vid, pid, text("serial"), text("product")))
    return found


def scan(serial_ports=None, usb_devices=None) -> list[FoundDevice]:
    """Every recognised device. The arguments replace the system's lists (for tests)."""
    ports = _serial_ports() if serial_ports is None else serial_ports
    usb = _usb_devices() if usb_devices is None else usb_devices
    found = []
    for port in ports:
        known = identify(getattr(port, "vid", None), getattr(port, "pid", None))
        if known and known.serial:
            found.append(FoundDevice(known.role, known.name, port.vid, port.pid, port.device,
                                     getattr(port, "serial_number", None) or "",
                                     getattr(port, "description", None) or ""))
    for vid, pid, serial_number, product in usb:
        known = identify(vid, pid)
        if known and not known.serial:
            found.append(FoundDevice(known.role, known.name, vid, pid, None, serial_number,
                                     product))
    return sorted(found, key=lambda d: (ROLES.index(d.role), d.port is None, d.port or "",
                                        d.serial_number))


def _pick(found: list[FoundDevice], role: str, option: str, what: str) -> FoundDevice:
    matches = [d for d in found if d.role == role]
    names = ", ".join(k.name for k in KNOWN if k.role == role)
    if not matches:
        raise UserError(f"no {what} found by USB id (looked for: {names}): pass {option}, "
                        f"or run `tinybench devices` to see what is plugged in")
    if len(matches) > 1:
        listed = "; ".join(f"{d.name} at {d.port or d.serial_number or d.usb_id}" for d in matches)
        raise UserError(f"{len(matches)} {what}s found ({listed}): choose one with {option}")
    return matches[0]


def pick_port(found: list[FoundDevice] | None = None) -> str:
    """The serial port of the one DUT board plugged in."""
    return _pick(scan() if found is None else found, "dut", "--port", "DUT board").port


def pick_power(found: list[FoundDevice] | None = None) -> str:
    """The --power value for the one power monitor plugged in."""
    return _pick(scan() if found is None else found, "power", "--power", "power monitor").power_spec


def pick_interface(found: list[FoundDevice] | None = None) -> str:
    """The serial port of the one interface board plugged in."""
    return _pick(scan() if found is None else found, "interface", "--interface",
                 "interface board").port


def format_table(found: list[FoundDevice]) -> str:
    if not found:
        known = []
        for k in KNOWN:
            usb_id = f"{k.vid:04x}:" + ("/".join(f"{p:04x}" for p in k.pids) if k.pids else "*")
            known.append(f"  {k.role:<9}  {usb_id:<9}  {k.name}")
        return ("no known boards, power monitors or interface boards found. Known USB ids:\n"
                + "\n".join(known))
    rows = [("ROLE", "DEVICE", "PORT", "USB ID", "SERIAL", "USE AS")]
    for d in found:
        use = {"dut": f"--port {d.port}", "power": f"--power {d.power_spec}",
               "interface": f"--interface {d.port}"}[d.role]
        rows.append((d.role, d.name, d.port or "(USB)", d.usb_id, d.serial_number or "-", use))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows)


def as_dicts(found: list[FoundDevice]) -> list[dict]:
    return [dict(asdict(d), usb_id=d.usb_id, power_spec=d.power_spec) for d in found]
