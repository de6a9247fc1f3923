#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# a11y-day-view.py — the AT-SPI half of test-a11y-day-view: reads the desk (running in the
# test's process, named by its pid) as a screen reader does, through pyatspi, and drives
# it with the keyboard only (key events through the AT-SPI registry, XTest under Xvfb).
# Checks: every block of the day under its full name, the grid a table with staff column
# headers and hour row headers; Tab reaches the grid, arrows, Home and End move through
# blocks and free slots, the block's details show on focus, Enter, Shift+F10 and Menu open
# a block's menu, Escape returns to the block, Enter on a free slot opens the booking
# dialog, the keyboard books it and the focus lands on the new block. Exits non-zero naming what failed;
# writes {"booked_slot": name} to the result file.
import json
import sys
import time

try:
    import pyatspi
except ImportError:
    sys.exit("pyatspi is missing: install python3-pyatspi (build-aux/deps.sh)")

KEY_TAB = 0xFF09
KEY_RETURN = 0xFF0D
KEY_ESCAPE = 0xFF1B
KEY_HOME = 0xFF50
KEY_LEFT = 0xFF51
KEY_UP = 0xFF52
KEY_RIGHT = 0xFF53
KEY_DOWN = 0xFF54
KEY_F10 = 0xFFC7
KEY_MENU = 0xFF67
KEYCODE_SHIFT_L = 50      # X keycodes of Xvfb's default (evdev) keymap
KEYCODE_CONTROL_L = 37

expect = json.load(open(sys.argv[1], encoding="utf-8"))
result_path = sys.argv[2]
failures = []
app = None


def log(*args):
    print(*args, flush=True)


def dump(obj, depth=0, out=None):
    """The tree as a screen reader would list it, for a failure's message."""
    out = [] if out is None else out
    try:
        out.append("%s%s %r" % ("  " * depth, obj.getRoleName(), obj.name))
        for child in children(obj):
            if child is not None and depth < 40:
                dump(child, depth + 1, out)
    except Exception as e:
        out.append("%s(gone: %s)" % ("  " * depth, e))
    return out


def fail(message):
    if app is not None and "--dump" in sys.argv:
        print("\n".join(dump(app)), file=sys.stderr)
    sys.exit("FAIL: " + message)


def wait_for(what, predicate, seconds=20):
    end = time.monotonic() + seconds
    while True:
        try:
            value = predicate()
        except Exception as e:  # objects come and go while the desk redraws
            value = None
            last = e
        if value:
            return value
        if time.monotonic() > end:
            fail("waited %d s for %s" % (seconds, what))
        time.sleep(0.1)


def press(keysym, times=1):
    for _ in range(times):
        pyatspi.Registry.generateKeyboardEvent(keysym, None, pyatspi.KEY_SYM)
        time.sleep(0.12)


def chord(modifier_keycode, keysym):
    # KEY_PRESS and KEY_RELEASE take a keycode, KEY_SYM a keysym.
    pyatspi.Registry.generateKeyboardEvent(modifier_keycode, None, pyatspi.KEY_PRESS)
    pyatspi.Registry.generateKeyboardEvent(keysym, None, pyatspi.KEY_SYM)
    pyatspi.Registry.generateKeyboardEvent(modifier_keycode, None, pyatspi.KEY_RELEASE)
    time.sleep(0.12)


def children(obj):
    return [obj.getChildAtIndex(i) for i in range(obj.childCount)]


def walk(obj, depth=0):
    yield obj
    if depth > 60:
        return
    for child in children(obj):
        if child is not None:
            yield from walk(child, depth + 1)


def find_app():
    desktop = pyatspi.Registry.getDesktop(0)
    for app in children(desktop):
        try:
            if app is not None and app.get_process_id() == expect["pid"]:
                return app
        except Exception:
            pass
    return None


def focused(obj):
    return obj.getState().contains(pyatspi.STATE_FOCUSED)


def role(obj):
    return obj.getRole()


app = wait_for("the desk on the accessibility bus", find_app, 30)
log("desk:", app.name)


def find_table():
    for obj in walk(app):
        if role(obj) == pyatspi.ROLE_TABLE and obj.name.startswith(expect["table_name"]):
            return obj
    return None


table = wait_for("a showing table (the day view)", find_table)
log("table:", table.name)
if not table.name:
    failures.append("the day view has no name")

# ---- the tree ----

cells = children(table)
# GTK before 4.10 has no AT-SPI role for GTK_ACCESSIBLE_ROLE_COLUMN_HEADER and gives
# filler; the day view sets the right role, which newer GTK passes on.
column_roles = [pyatspi.ROLE_COLUMN_HEADER, pyatspi.ROLE_TABLE_COLUMN_HEADER]
if expect["column_header_is_filler"]:
    column_roles.append(pyatspi.ROLE_FILLER)
columns = [c.name for c in cells if role(c) in column_roles]
rows = [c.name for c in cells if role(c) == pyatspi.ROLE_ROW_HEADER]
buttons = [c.name for c in cells if role(c) == pyatspi.ROLE_PUSH_BUTTON]
log("%d column headers, %d row headers, %d buttons" % (len(columns), len(rows), len(buttons)))

if [c.split(", ")[0] for c in columns] != expect["columns"]:
    failures.append("column headers %r, expected the staff %r" % (columns, expect["columns"]))
if rows != expect["hours"]:
    failures.append("row headers %r, expected %r" % (rows, expect["hours"]))
missing = [name for name in expect["blocks"] if name not in buttons]
for name in missing:
    failures.append("block missing from the tree: %r" % name)
if missing:
    log("buttons in the tree:", *buttons, sep="\n  ")
if not any(", allergies: " in name for name in expect["blocks"]):
    failures.append("the day has no block with allergies: the check proves nothing")
if not any(name.endswith(", double-booked") for name in expect["blocks"]):
    failures.append("the day has no double booking: the check proves nothing")
for c in cells:
    if role(c) == pyatspi.ROLE_PUSH_BUTTON and not c.name:
        failures.append("a block or slot without a name")
if failures:
    fail("\n  ".join(failures))

# ---- the keyboard ----


def focused_cell():
    for c in children(table):
        if focused(c):
            return c
    return None


# Tab from wherever the window's focus is until the grid has it: one Tab stop.
for _ in range(60):
    if focused_cell() is not None:
        break
    press(KEY_TAB)
cell = wait_for("the keyboard focus in the day view (Tab)", focused_cell, 5)
log("Tab reached:", cell.name)


def step(keysym, what, may_stay=False):
    """Presses a key and waits until the focus has moved to another cell; with may_stay,
    None when it stays (the end of a column)."""
    before = focused_cell()
    before_name = before.name if before is not None else None
    press(keysym)
    moved = lambda: (lambda c: c if c is not None and c.name != before_name else None)(focused_cell())
    if may_stay:
        end = time.monotonic() + 3
        while time.monotonic() < end:
            cell = moved()
            if cell is not None:
                return cell
            time.sleep(0.1)
        return None
    return wait_for(what, moved, 10)


# Arrows: down the column until a block, passing free slots; at the end of a column
# without one, Right to the next and Home to its top.
seen_free = cell.name.endswith(", free")
blocks = set(expect["blocks"])
for _ in range(len(expect["columns"])):
    while cell is not None and cell.name not in blocks:
        if cell.name.endswith(", free"):
            seen_free = True
        cell = step(KEY_DOWN, "Down", may_stay=True)
    if cell is not None:
        break
    step(KEY_RIGHT, "Right to the next column")
    cell = focused_cell()
    top = step(KEY_HOME, "Home", may_stay=True)
    cell = top if top is not None else focused_cell()
    log("column's end; Right and Home:", cell.name)
block = wait_for("a focused block", focused_cell)
block_name = block.name
log("Down reached block:", block_name, "(free slots passed: %s)" % seen_free)
if block.name not in blocks:
    fail("Down stopped on %r, not a block" % block.name)

# The tooltip's content beside the block focused from the keyboard: a label of the day
# view that names the pet and the client.
pet, client = block_name.split(", ")[1:3]


def find_info():
    for obj in walk(table):
        if role(obj) == pyatspi.ROLE_LABEL and pet in obj.name and client in obj.name:
            return obj
    return None


info = wait_for("the block's details shown on keyboard focus", find_info, 10)
log("details shown:", info.name.replace("\n", " | "))

# Enter: the block's menu, with its items; Escape: back on the block.
press(KEY_RETURN)


def find_menu_item():
    # The menu is a popover of the day view: look under the table.
    for obj in walk(table):
        if obj.name == expect["edit_label"] and role(obj) == pyatspi.ROLE_MENU_ITEM:
            return obj
    return None


wait_for("the block's menu (Enter)", find_menu_item, 10)
log("Enter opened the menu")
press(KEY_ESCAPE)
wait_for("the menu to close", lambda: find_menu_item() is None, 10)
back = wait_for("the focus back in the day view after the menu", focused_cell, 10)
if back.name != block_name:
    fail("after Escape the focus is on %r, not the block %r" % (back.name, block_name))
log("Escape returned to the block")

# Shift+F10 opens the same menu.
chord(KEYCODE_SHIFT_L, KEY_F10)
wait_for("the block's menu (Shift+F10)", find_menu_item, 10)
press(KEY_ESCAPE)
wait_for("the menu to close", lambda: find_menu_item() is None, 10)
log("Shift+F10 opened the menu")
press(KEY_MENU)
wait_for("the block's menu (Menu)", find_menu_item, 10)
press(KEY_ESCAPE)
wait_for("the menu to close", lambda: find_menu_item() is None, 10)
log("Menu opened the menu")
back = wait_for("the focus back in the day view after the menu", focused_cell, 10)
if back.name != block_name:
    fail("after Escape the focus is on %r, not the block %r" % (back.name, block_name))

# Right and Left keep the time and change the column.
if len(expect["columns"]) > 1:
    there, back_key = KEY_RIGHT, KEY_LEFT
    moved = step(there, "Right", may_stay=True)
    if moved is None:  # the last column
        there, back_key = KEY_LEFT, KEY_RIGHT
        moved = step(there, "Left to move to the column before")
    again = step(back_key, "the way back")
    log("across:", moved.name, "| back:", again.name)
    # Back at the same time: the block, or one overlapping it that starts earlier.
    if again.name != block_name and again.name not in blocks:
        fail("across and back went from %r to %r" % (block_name, again.name))
    while focused_cell().name != block_name:
        step(KEY_DOWN, "Down back to %r" % block_name)

# A free hour: Down until four free quarter hours in a row, Up back to the first of them,
# Enter books there (the booking's default length fits, no overlap question).
cell = focused_cell()
run = 0
wrapped = False
while run < 4:
    following = step(KEY_DOWN, "Down", may_stay=True)
    if following is None:  # the column's end: once more from its top (Home)
        if wrapped:
            fail("no free hour in the column of %r" % block_name)
        wrapped = True
        cell = step(KEY_HOME, "Home to the column's top")
        run = 1 if cell.name.endswith(", free") else 0
        continue
    cell = following
    run = run + 1 if cell.name.endswith(", free") else 0
for _ in range(3):
    cell = step(KEY_UP, "Up to move from %r" % cell.name)
slot = cell
slot_name = slot.name
log("free slot:", slot_name)
press(KEY_RETURN)


def find_editor():
    for window in children(app):
        if window is not None and window.name == expect["editor_title"]:
            return window
    return None


editor = wait_for("the booking dialog (Enter on a free slot)", find_editor, 15)
log("Enter opened:", editor.name)


def editor_focus():
    for obj in walk(editor):
        if focused(obj):
            return obj
    return None


# Ctrl+Enter books; while a field is missing it says so and focuses that field, a
# drop-down: Space opens it, Down and Enter take the first choice.
for attempt in range(6):
    chord(KEYCODE_CONTROL_L, KEY_RETURN)
    time.sleep(1.0)
    if find_editor() is None:
        break
    field = wait_for("a focused field in the booking dialog", editor_focus, 10)
    log("booking dialog asks for:", field.getRoleName(), repr(field.name))
    press(0x20)  # space
    time.sleep(1.0)
    press(KEY_DOWN)
    press(KEY_RETURN)
    time.sleep(1.0)
wait_for("the booking dialog to close after booking", lambda: find_editor() is None, 15)
log("booked from the keyboard")

# The focus is back in the grid, on the new block where the free slot was.
new_block = wait_for("the focus on the booked block",
                     lambda: (lambda c: c if c is not None and c.name.startswith(slot_name[:6]) and
                              not c.name.endswith(", free") else None)(focused_cell()), 15)
log("focus on the new block:", new_block.name)

with open(result_path, "w", encoding="utf-8") as out:
    json.dump({"booked_slot": slot_name}, out)
log("OK")
