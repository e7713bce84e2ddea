"""Native speed-ups: every ``qa_engine/native/_*.c`` becomes the extension ``qa_engine.native._*``.

Optional: where no C compiler or Python headers are found, the install goes on and :mod:`qa_engine.native` reports
the module missing, so the pure-Python reference runs instead (``scripts/setup.sh`` installs both on a fresh machine,
and the test suite requires the modules when ``QA_ENGINE_REQUIRE_NATIVE=1``).
"""

from pathlib import Path

from setuptools import Extension, setup

NATIVE = Path("qa_engine/native")

setup(ext_modules=[
    Extension(f"qa_engine.native.{source.stem}", [str(source)], optional=True,
              extra_compile_args=["-O2", "-std=c11", "-Wall", "-Werror=implicit-function-declaration"])
    for source in sorted(NATIVE.glob("_*.c"))
])
