"""The hard scan set (``tests/hard_scans.py``): every decoder must keep its recorded read count.

The set is drawn at test time from jifen's own card QR codes and EAN-13 goods — perspective,
motion and defocus blur, glare, a dark shop with noise, cheap JPEG, a crumpled card, a phone
screen, a card far away — at 640×480, 1280×720 and 1920×1080. The counts below were recorded
when the set was made (zxing-cpp 3.1, pyzbar 0.1.9 on ZBar 0.23, OpenCV 5.1): a change that
makes a decoder read fewer frames fails here; one that reads more should raise the count.
pyzbar and OpenCV run on the 640×480 frames only (they take ten times zxing-cpp's time on the
large ones), OpenCV on the QR frames only (it reads no EAN-13).
"""

from __future__ import annotations

import pytest

from bench.scan_baseline import old_decode, old_prepare
from hardware import decoders
from hardware.camera import prepare
from tests import hard_scans

# decoder -> (frames it is given, frames it read when recorded)
BASELINE = {
    "auto": (54, 43),  # the kiosk's chain, on the frame as the camera path prepares it
    "zxingcpp": (54, 43),
    "pyzbar": (18, 9),
    "opencv": (9, 5),
}
# The camera path before issue 18 (every frame squeezed to 640×480): what the chain beats.
OLD_CAMERA_PATH = (54, 38)


@pytest.fixture(scope="module")
def hard_set() -> list[hard_scans.HardFrame]:
    return list(hard_scans.frames())


def _given(decoder: str, frame: hard_scans.HardFrame) -> bool:
    if decoder in ("pyzbar", "opencv") and frame.size != (640, 480):
        return False
    return not (decoder == "opencv" and frame.kind != "qr")


def test_the_set_is_deterministic_and_covers_every_case(hard_set):
    assert len(hard_set) == len(hard_scans.SIZES) * len(hard_scans.CONDITIONS) * 2
    again = next(hard_scans.frames())
    assert again.name == hard_set[0].name and (again.image == hard_set[0].image).all()
    assert {f.size for f in hard_set} == set(hard_scans.SIZES)
    assert {(f.image.shape[1], f.image.shape[0]) for f in hard_set} == set(hard_scans.SIZES)


@pytest.mark.parametrize("decoder", list(BASELINE))
def test_decoder_keeps_its_recorded_read_count(hard_set, decoder):
    given, read, missed = 0, 0, []
    for frame in hard_set:
        if not _given(decoder, frame):
            continue
        given += 1
        texts = [d.text for d in decoders.decode(prepare(frame.image), decoder)]
        assert all(t == frame.text for t in texts), f"{decoder} misread {frame.name}: {texts}"
        if frame.text in texts:
            read += 1
        else:
            missed.append(frame.name)
    expected_given, floor = BASELINE[decoder]
    assert given == expected_given
    assert read >= floor, f"{decoder} read {read} of {given}, recorded {floor}; missed {missed}"


def test_native_frames_read_more_than_the_old_squeeze(hard_set):
    old = sum(
        hard_set_frame.text in [t for t, _ in old_decode(old_prepare(hard_set_frame.image))]
        for hard_set_frame in hard_set
    )
    assert (len(hard_set), old) == OLD_CAMERA_PATH
    assert BASELINE["auto"][1] > old
