"""The order libstdc++'s ``std::sort`` gives, which MediaPipe's non-maximum suppression depends on.

``std::sort`` is an introsort (median-of-three quicksort, heapsort past a depth limit, insertion sort
for the last 16-element runs) and is not stable. MediaPipe sorts detections by score with it; among
equal scores the result follows the algorithm's moves, and the weighted NMS then adds boxes in that
order, in float32. This follows the algorithm of GCC 12's ``bits/stl_algo.h``; tests check it against g++.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def sort_order_descending(keys: npt.NDArray[np.float32]) -> list[int]:
    """Indices of ``keys`` in the order libstdc++'s ``std::sort`` leaves them with ``a > b``.

    MediaPipe sorts detections by score with ``std::sort``, which is not stable: among equal scores (a
    saturated sigmoid gives several 1.0) its order, and so the float32 summation order of the weighted
    NMS, follows the introsort's moves. Without ties every sort agrees, and numpy's is used.
    """
    if len(np.unique(keys)) == len(keys):
        return [int(i) for i in np.argsort(-keys, kind="stable")]
    k = [float(v) for v in keys]
    a = list(range(len(k)))

    def before(i: int, j: int) -> bool:
        return k[i] > k[j]

    def linear_insert(last: int) -> None:  # __unguarded_linear_insert
        value, prev = a[last], last - 1
        while before(value, a[prev]):
            a[last], last, prev = a[prev], prev, prev - 1
        a[last] = value

    def insertion_sort(first: int, end: int) -> None:  # __insertion_sort
        for i in range(first + 1, end):
            value = a[i]
            if before(value, a[first]):
                a[first + 1 : i + 1] = a[first:i]
                a[first] = value
            else:
                linear_insert(i)

    def adjust_heap(first: int, hole: int, n: int, value: int) -> None:  # __adjust_heap + __push_heap
        top = child = hole
        while child < (n - 1) // 2:
            child = 2 * (child + 1)
            if before(a[first + child], a[first + child - 1]):
                child -= 1
            a[first + hole], hole = a[first + child], child
        if n % 2 == 0 and child == (n - 2) // 2:
            child = 2 * (child + 1)
            a[first + hole], hole = a[first + child - 1], child - 1
        parent = (hole - 1) // 2
        while hole > top and before(a[first + parent], value):
            a[first + hole], hole = a[first + parent], parent
            parent = (hole - 1) // 2
        a[first + hole] = value

    def heap_sort(first: int, end: int) -> None:  # __partial_sort(first, end, end)
        n = end - first
        for parent in range((n - 2) // 2, -1, -1):
            adjust_heap(first, parent, n, a[first + parent])
        while end - first > 1:
            end -= 1
            value, a[end] = a[end], a[first]
            adjust_heap(first, 0, end - first, value)

    def introsort(first: int, end: int, depth: int) -> None:
        while end - first > 16:
            if depth == 0:
                heap_sort(first, end)
                return
            depth -= 1
            x, y, z = first + 1, first + (end - first) // 2, end - 1  # __move_median_to_first
            if before(a[x], a[y]):
                pivot = y if before(a[y], a[z]) else (z if before(a[x], a[z]) else x)
            else:
                pivot = x if before(a[x], a[z]) else (z if before(a[y], a[z]) else y)
            a[first], a[pivot] = a[pivot], a[first]
            lo, hi = first + 1, end  # __unguarded_partition around a[first]
            while True:
                while before(a[lo], a[first]):
                    lo += 1
                hi -= 1
                while before(a[first], a[hi]):
                    hi -= 1
                if lo >= hi:
                    break
                a[lo], a[hi] = a[hi], a[lo]
                lo += 1
            introsort(lo, end, depth)
            end = lo

    n = len(a)
    introsort(0, n, 2 * (n.bit_length() - 1))
    if n > 16:
        insertion_sort(0, 16)
        for i in range(16, n):
            linear_insert(i)
    else:
        insertion_sort(0, n)
    return a
