"""Uploaded images are decoded before they are kept: a file that only looks
like an image, or one that declares or inflates to a huge picture (a
decompression bomb), is refused with the reason."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from backend.errors import Invalid, TooLarge

# A phone camera's photo (JPEG, WebP) is 12-16 megapixels. PNG comes from the
# signature pad and screenshots, far smaller; it is also the format whose
# compression makes a tiny file inflate to hundreds of MB, so it gets less.
MAX_PIXELS = 24_000_000
MAX_PIXELS_BY_FORMAT = {"PNG": 4_000_000}
FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}


def checked_image(data: bytes, max_bytes: int) -> str:
    """The image's kind ("jpeg", "png", "webp") once it decoded whole within the limits."""
    if len(data) > max_bytes:
        size = f"{max_bytes // 1_000_000} MB" if max_bytes >= 1_000_000 else f"{max_bytes // 1000} kB"
        raise TooLarge(f"The image is larger than {size}; take it again at a lower resolution.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                width, height = image.size
                limit = MAX_PIXELS_BY_FORMAT.get(image.format or "", MAX_PIXELS)
                if width * height > limit:
                    raise TooLarge(
                        f"The {image.format} image is {width}×{height} pixels; send at most "
                        f"{limit // 1_000_000} megapixels."
                    )
                image.load()  # the whole picture: a truncated or corrupt file fails here
                return FORMATS[image.format or ""]
    except (UnidentifiedImageError, KeyError) as exc:
        raise Invalid("That file is not a JPEG, PNG or WebP image.") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLarge(f"The image is too large to decode; send at most {MAX_PIXELS // 1_000_000} megapixels.") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's words for a broken file
        raise Invalid("The image could not be read (damaged or cut off); take it again.") from exc
