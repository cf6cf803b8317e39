"""The built-in proxies, one module each; importing this package registers them all."""

from zero_cost.proxies import (
    epe_nas,
    fisher,
    flops,
    grad_norm,
    grasp,
    jacob_cov,
    l2_norm,
    meco,
    nwot,
    params,
    plain,
    snip,
    synflow,
    zen,
    zico,
)

__all__ = [
    "epe_nas",
    "fisher",
    "flops",
    "grad_norm",
    "grasp",
    "jacob_cov",
    "l2_norm",
    "meco",
    "nwot",
    "params",
    "plain",
    "snip",
    "synflow",
    "zen",
    "zico",
]
