"""The core funcgrad.numpy functions in one namespace, for the compositions built on them.

Modules such as ``polynomial`` or ``windows`` are written in terms of NumPy's API
(``fnp.convolve``, ``fnp.where``...); importing this module as ``fnp`` gives them that
API without importing the public ``funcgrad.numpy`` package, which imports them.
"""

from funcgrad._src.dtypes import promote_types, result_type  # noqa: F401
from funcgrad._src.numpy.contractions import *
from funcgrad._src.numpy.creation import *
from funcgrad._src.numpy.info import finfo, iinfo  # noqa: F401
from funcgrad._src.numpy.logic import *
from funcgrad._src.numpy.reductions import *
from funcgrad._src.numpy.searching import *
from funcgrad._src.numpy.shape import *
from funcgrad._src.numpy.sorting import *
from funcgrad._src.numpy.statistics import *
from funcgrad._src.numpy.ufuncs import *
