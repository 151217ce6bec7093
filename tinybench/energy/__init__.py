"""Energy mode: power monitors behind one interface, and energy per inference from their traces.

    monitor.py            the interface (setup / start / stop -> Trace / teardown) and its errors
    monitors.py           --power lpm01a[:PORT] | joulescope | lpm01a-sim | sim -> a monitor
    lpm01a.py             the STM32 LPM01A PowerShield over serial
    lpm01a_sim.py         a simulated LPM01A speaking the same protocol on a pty
    joulescope_monitor.py Joulescope JS110/JS220 (optional joulescope package)
    simulated.py          a simulated monitor without wire protocol
    power_model.py        the power a simulated DUT draws (board profiles)
    dut_signals.py        how the host DUT reports its timestamp pulses and busy/idle changes
    results.py            window energy, the median, results.txt lines, plots
    interface_board.py    the interface board between host and DUT (pass-through), and
    interface_board_sim.py  its simulator
    pty_device.py         the pseudo-terminal and serving thread both simulators run on
"""
