"""One module of exercise cases per notebook (nb01.py ... nb10.py), each a list CASES; gathered in ALL."""

from . import nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09, nb10

ALL = [case for module in (nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09, nb10) for case in module.CASES]
