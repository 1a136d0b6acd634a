"""Distances between face encodings: the nearest one, never within one image, and a
covering subset of many.

dlib's encodings put two photos of one person closer than about 0.6 and photos of two people
further apart; every score of the learner starts from these distances. Pure numpy: float32
matrix products in blocks that bound the memory.
"""

from __future__ import annotations

import numpy as np

MAX_ENCODING_VALUE = 1000.0
"""The largest magnitude of an encoding's value the learner computes with. dlib's values lie
within ±1 (and any face model's far inside this); squared float32 distances overflow near
1e19. A value beyond, or not finite, is a broken row, not a face (``usable_encodings``)."""


CHUNK_ROWS = 16384
"""Most rows per block of the distance products; bounds memory to rows * references floats."""


CHUNK_FLOATS = 1 << 19
"""Floats per block of distance products (2 MB): a block that stays in the core's cache
makes the sum and the minimum after the product about a quarter faster than 16,384 rows."""


HELD_OUT_ROWS = 1024
"""Rows per block when faces of the query's own image must be masked out."""


def usable_encodings(encodings: np.ndarray) -> np.ndarray:
    """Which rows of (n, 128) encodings are finite and within ``MAX_ENCODING_VALUE``: one
    infinite value would turn every distance to it, and so the whole fit, into NaN."""
    return np.all(np.abs(encodings) <= MAX_ENCODING_VALUE, axis=1)


def as_encodings(values: np.ndarray) -> np.ndarray:
    """Encodings as a C-contiguous float32 (n, 128) array, the form the products expect."""
    array = np.ascontiguousarray(values, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError("encodings must be a 2-D array of shape (faces, 128)")
    return array


def nearest_distance(
    queries: np.ndarray,
    references: np.ndarray,
    *,
    chunk_rows: int | None = None,
    query_norms: np.ndarray | None = None,
) -> np.ndarray:
    """Euclidean distance from each query to its nearest reference (inf when none).

    ``|a-b|² = |a|² + |b|² - 2ab``: one float32 matrix product per block of rows, and
    blocks bound the memory to ``chunk_rows * len(references)`` floats (by default about
    CHUNK_FLOATS, between 1,024 and CHUNK_ROWS rows). ``query_norms``: the queries'
    squared lengths, when the caller has them already.
    """
    result = np.full(queries.shape[0], np.inf, dtype=np.float32)
    if references.shape[0] == 0 or queries.shape[0] == 0:
        return result
    if chunk_rows is None:
        chunk_rows = min(max(CHUNK_FLOATS // references.shape[0], 1024), CHUNK_ROWS)
    references = as_encodings(references)
    scaled = np.ascontiguousarray(-2.0 * references.T)
    reference_norms = np.einsum("ij,ij->i", references, references)
    for start in range(0, queries.shape[0], chunk_rows):
        block = as_encodings(queries[start : start + chunk_rows])
        products = block @ scaled
        products += reference_norms
        norms = (
            query_norms[start : start + chunk_rows]
            if query_norms is not None
            else np.einsum("ij,ij->i", block, block)
        )
        nearest = products.min(axis=1) + norms
        result[start : start + block.shape[0]] = np.sqrt(np.maximum(nearest, 0.0))
    return result


def held_out_distance(
    queries: np.ndarray,
    query_images: np.ndarray,
    references: np.ndarray,
    reference_images: np.ndarray,
) -> np.ndarray:
    """Nearest distance, ignoring references on the query's own image.

    Faces of one image are never the same person as each other, so they carry no evidence
    about each other; leaving out the whole image also makes answered faces leave-one-out.
    """
    result = np.full(queries.shape[0], np.inf, dtype=np.float32)
    if references.shape[0] == 0 or queries.shape[0] == 0:
        return result
    references = as_encodings(references)
    for start in range(0, queries.shape[0], HELD_OUT_ROWS):
        block = as_encodings(queries[start : start + HELD_OUT_ROWS])
        squared = pairwise_squared(block, references)
        own_image = query_images[start : start + HELD_OUT_ROWS, None] == reference_images
        squared[own_image] = np.inf
        result[start : start + block.shape[0]] = np.sqrt(squared.min(axis=1))
    return result


def pairwise_squared(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = np.einsum("ij,ij->i", a, a)[:, None] + np.einsum("ij,ij->i", b, b)[None, :]
    squared -= 2.0 * (a @ b.T)
    return np.maximum(squared, 0.0)


def covering_subset(encodings: np.ndarray, faces: np.ndarray, *, limit: int) -> np.ndarray:
    """At most ``limit`` of ``faces``, spread to cover them all (farthest-point sampling).

    Every yes face costs one pass over the whole project, so a project with thousands of
    existing depicts statements would rescore slowly. Past the limit, the nearest yes is
    measured to these representatives instead: a distance can only grow, so scores only
    err on the side of asking rather than suggesting.
    """
    if faces.size <= limit:
        return faces
    members = as_encodings(encodings[faces])
    chosen = [0]
    distance = np.linalg.norm(members - members[0], axis=1)
    while len(chosen) < limit:
        farthest = int(np.argmax(distance))
        chosen.append(farthest)
        distance = np.minimum(distance, np.linalg.norm(members - members[farthest], axis=1))
    return faces[np.array(chosen)]
