"""A real-time window for the webcam: OpenCV's own where it has a GUI, otherwise Tk (in the standard
library), since the headless OpenCV wheels ferkit installs have no window support."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ferkit.errors import FerkitError

QUIT_KEYS = {"q", "Q", "Escape"}


def opencv_has_gui() -> bool:
    return "GUI:                           NONE" not in cv2.getBuildInformation()


class OpenCVWindow:
    def __init__(self, title: str):
        self.title = title
        cv2.namedWindow(title)

    def show(self, frame: np.ndarray) -> bool:
        cv2.imshow(self.title, frame)
        return (cv2.waitKey(1) & 0xFF) not in (ord("q"), ord("Q"), 27)

    def close(self) -> None:
        cv2.destroyWindow(self.title)


class TkWindow:
    def __init__(self, title: str):
        import tkinter

        try:
            self.root = tkinter.Tk()
        except tkinter.TclError as error:
            raise FerkitError(f"cannot open a window ({error}); is a display available (DISPLAY)?") from None
        self.root.title(title)
        self.label = tkinter.Label(self.root)
        self.label.pack()
        self.open = True
        self.root.bind("<Key>", lambda event: self._quit() if event.keysym in QUIT_KEYS else None)
        self.root.protocol("WM_DELETE_WINDOW", self._quit)
        self._image: Any = None  # Tk keeps no reference of its own: the image must outlive the call

    def _quit(self) -> None:
        self.open = False

    def show(self, frame: np.ndarray) -> bool:
        import tkinter

        # PPM needs no image library: Tk reads it straight from bytes.
        self._image = tkinter.PhotoImage(data=cv2.imencode(".ppm", frame)[1].tobytes(), format="PPM")
        self.label.configure(image=self._image)
        self.root.update()
        return self.open

    def close(self) -> None:
        try:
            self.root.destroy()
        except Exception:  # already gone with its display
            pass


def open_window(title: str = "ferkit") -> OpenCVWindow | TkWindow:
    return OpenCVWindow(title) if opencv_has_gui() else TkWindow(title)


def draw_fps(frame: np.ndarray, fps: float) -> np.ndarray:
    scale = max(frame.shape[0] / 720, 0.5)
    cv2.putText(
        frame,
        f"{fps:.1f} FPS",
        (10, int(30 * scale)),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.8 * scale,
        (0, 255, 0),
        max(int(2 * scale), 1),
        cv2.LINE_AA,
    )
    return frame
