"""Goods and money: products, stock movements, and (later) donations, fund pool, stocktake."""
