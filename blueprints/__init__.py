"""certbank blueprints: what a form must contain, and assembly of parallel forms that meet it.

    from blueprints.loading import load_blueprint
    from blueprints.assemble import assemble
    result = assemble(load_blueprint("blueprint.toml"), bank.item_pool(), bank.enemy_pairs(), n_forms=4)

(The function ``assemble`` is not re-exported here: it would shadow the module ``blueprints.assemble``.)
"""
from .loading import load_blueprint, parse_blueprint
from .model import Blueprint

__all__ = ["Blueprint", "load_blueprint", "parse_blueprint"]
