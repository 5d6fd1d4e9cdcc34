"""Grid use cases: the only code that changes grids (docs/architecture.md §3.1).

Every function in this package is transactional, takes keyword-only arguments and an explicit
actor, checks topology before writing (grids/validation.py), keeps the boundary history
(GridBoundary), has the registered impact providers move what the edit moves (grids/impact.py)
and writes a GridEvent. One module per kind of edit:

- `editing.py`: create, reshape, re-attribute and retire one grid (and the default levels);
- `replacing.py`: split and merge, where new grids with new codes replace old ones;
- `dividing.py`: divide a grid into children of a target area;
- `locking.py`: the row and advisory locks they all take first (docs/architecture.md §3.4).

The errors are in grids/errors.py, the shapely helpers in grids/geometry.py, and the read-only
topology report in grids/topology.py.
"""
