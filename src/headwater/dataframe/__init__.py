"""The user-facing API: streaming DataFrames and column expressions."""

from headwater.dataframe.dataframe import StreamingDataFrame
from headwater.dataframe.expressions import Column, col, lit

__all__ = ["Column", "StreamingDataFrame", "col", "lit"]
