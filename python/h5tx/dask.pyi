# Type stub of h5tx.dask (docs/python.md, "Dask").
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

RECORD_FILE: str

def record_path(file: str, path: str) -> str: ...
def store(sources: Any, home: str, file: Union[str, Sequence[str]], path: Union[str, Sequence[str]], *,
          atomic: bool = False, resume: bool = True, create: bool = True,
          chunks_per_transaction: Optional[int] = None, compute: bool = True, lock_timeout: float = 600,
          _hook: Optional[Callable[..., Any]] = None, **dataset_options: Any) -> Any: ...
def commit_counts(home: str, file: str, path: str, lock_timeout: float = 600) -> npt.NDArray[np.uint32]: ...

class Target:
    home: str
    file: str
    path: str
    lock_timeout: float
    def __init__(self, home: str, file: str, path: str, lock_timeout: float = 600) -> None: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def dtype(self) -> np.dtype: ...
    @property
    def ndim(self) -> int: ...
    def __setitem__(self, key: Any, value: npt.ArrayLike) -> None: ...
