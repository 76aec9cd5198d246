# The names of _build_config.py, which CMake generates at build time from
# _build_config.py.in (the .py is not in git): what type checkers see.

compiler: str
compile_flags: str
simd_path_flags: dict[str, str]
openmp_version: str
system_processor: str
build_type: str
native: str
sanitize: str
