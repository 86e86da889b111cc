"""certbank blueprints: what a form must contain, and assembly of parallel forms that meet it.

    from blueprints import load_blueprint, assemble
    result = assemble(load_blueprint("blueprint.toml"), bank.item_pool(), bank.enemy_pairs(), n_forms=4)
"""
from .assemble import AssemblyResult, assemble
from .diagnose import check_blueprint
from .loading import load_blueprint, parse_blueprint
from .model import Blueprint
from .verify import verify_forms

__all__ = ["AssemblyResult", "Blueprint", "assemble", "check_blueprint", "load_blueprint", "parse_blueprint",
           "verify_forms"]
