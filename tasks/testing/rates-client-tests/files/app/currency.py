"""Currency codes: three ASCII letters, compared in upper case."""

from app.errors import UnknownCurrency

CODE_LENGTH = 3


def normalize(code: object) -> str:
    """The upper-case form of a well-formed code; UnknownCurrency for anything else."""
    # checked before upper(): "ß".upper() is "SS", which would change the length
    if not isinstance(code, str) or len(code) != CODE_LENGTH:
        raise UnknownCurrency(code)
    if not (code.isascii() and code.isalpha()):
        raise UnknownCurrency(code)
    return code.upper()
