"""libstdc++'s std::sort order, on which MediaPipe's weighted NMS sums depend when scores tie."""

from __future__ import annotations

import numpy as np

from edge.blazepose.cxx_sort import sort_order_descending


def test_ok__distinct_keys_sort_best_first() -> None:
    assert sort_order_descending(np.array([0.6, 0.9, 0.7, 0.95, 0.5], np.float32)) == [3, 1, 2, 0, 4]


def test_ok__ties_are_ordered_as_libstdcxx_std_sort_orders_them() -> None:
    """Permutations printed by g++ 12's ``std::sort`` with ``a.second > b.second`` on these scores."""
    tied = np.array(
        [1.0, 0.9, 1.0, 0.7, 1.0, 0.9, 0.6, 1.0, 0.8, 0.9, 1.0, 0.55, 0.9, 1.0, 0.7, 0.6, 1.0, 0.9, 0.8, 1.0],
        np.float32,
    )
    assert sort_order_descending(tied) == [
        10,
        19,
        16,
        13,
        0,
        7,
        4,
        2,
        5,
        9,
        12,
        17,
        1,
        8,
        18,
        3,
        14,
        6,
        15,
        11,
    ]
    many = np.array([((i * 7) % 5) / 4.0 for i in range(40)], np.float32)  # 40 keys: introsort partitions
    assert sort_order_descending(many) == [
        17, 2, 37, 22, 7, 32, 27, 12, 9, 24, 14, 29, 19, 34, 4, 39, 21, 1, 26, 31,
        36, 16, 11, 6, 18, 23, 38, 13, 28, 3, 8, 33, 0, 20, 5, 35, 10, 30, 15, 25,
    ]  # fmt: skip
    assert sort_order_descending(np.array([0.6, 0.9, 0.7, 0.95, 0.5], np.float32)) == [3, 1, 2, 0, 4]
