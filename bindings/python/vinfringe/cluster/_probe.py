"""What a Dask worker can use: run on every worker before any work (standard library only).

This module is sent to the workers by value (cloudpickle), so a worker that cannot import
vinfringe, or whose vinfringe cannot load libvinfringe, still runs it and says why.
"""


def probe() -> dict:
    """The worker's vinfringe: package path, library path and versions, or the error."""
    try:
        import vinfringe  # noqa: PLC0415 - the point is to try it here
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "package": vinfringe.__file__, "library": vinfringe.library_path,
            "version": vinfringe.version_string(), "ffmpeg_license": vinfringe.ffmpeg_license()}
