from .const import Status
from .exceptions import GRPCError

__version__ = '0.4.9'

__all__ = (
    'Status',
    'GRPCError',
)
