"""The public surface: exactly what ``__all__`` promises, loaded lazily; one error tree."""

from __future__ import annotations

import subprocess
import sys

import pytest

import modelcycle as mc
from modelcycle import errors


def test_every_exported_name_resolves() -> None:
    for name in mc.__all__:
        assert getattr(mc, name) is not None, name
    assert sorted(dir(mc)) == sorted(mc.__all__)
    assert set(mc.__all__) == {"__version__", *mc._LAZY}
    with pytest.raises(AttributeError):
        mc.not_a_thing  # noqa: B018


def test_import_is_lazy() -> None:
    code = (
        "import sys, modelcycle; "
        "print(any(m in sys.modules for m in ('sqlalchemy', 'pandas', 'numpy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("cls", "status", "builtin"),
    [
        (errors.InvalidInput, 400, ValueError),
        (errors.NotFound, 404, LookupError),
        (errors.AlreadyExists, 409, None),
        (errors.IntegrityError, 500, None),
        (errors.PermissionDenied, 403, None),
        (errors.StoreUnavailable, 503, None),
    ],
)
def test_error_tree(cls: type[errors.ModelcycleError], status: int, builtin: type | None) -> None:
    error = cls("what went wrong", details={"name": "x"})
    assert isinstance(error, errors.ModelcycleError)
    assert builtin is None or isinstance(error, builtin)
    assert error.http_status == status
    assert error.to_dict() == {
        "error": {"code": cls.__name__, "message": "what went wrong", "details": {"name": "x"}}
    }
    assert errors.ERRORS_BY_CODE[cls.__name__] is cls
    assert error.exit_code > 1 and error.headline


def test_lazy_names_resolve_once_and_unknown_names_fail() -> None:
    import modelcycle.quality as quality
    import modelcycle.tracking as tracking

    assert tracking.TrackingService is tracking.TrackingService
    assert "drift" in vars(quality) or quality.drift is not None
    assert vars(quality)["drift"] is quality.drift  # cached in the package after first use
    with pytest.raises(AttributeError, match="modelcycle.quality"):
        quality.not_a_thing  # noqa: B018
