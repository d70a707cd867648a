"""Human keypoint labels of the test stills (mmpose's test data), and PCK@0.2 against them.

The stills come from ten datasets with ten skeletons. The twelve limb joints every one of them labels
(shoulders, elbows, wrists, hips, knees, ankles) are mapped by name onto BlazePose's landmarks; faces,
hands and feet are left out because the datasets define them differently. PCK@alpha counts a joint as
correct within ``alpha`` times the person's torso size, the distance between the midpoints of the
labelled shoulders and hips (the BlazePose paper's "torso size"). BlazePose tracks one person: it is
scored against the labelled person its joints are closest to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.landmarks import PoseLandmark

_L = PoseLandmark
LIMB_JOINTS: tuple[PoseLandmark, ...] = (
    _L.LEFT_SHOULDER, _L.RIGHT_SHOULDER, _L.LEFT_ELBOW, _L.RIGHT_ELBOW, _L.LEFT_WRIST, _L.RIGHT_WRIST,
    _L.LEFT_HIP, _L.RIGHT_HIP, _L.LEFT_KNEE, _L.RIGHT_KNEE, _L.LEFT_ANKLE, _L.RIGHT_ANKLE,
)  # fmt: skip

_COCO = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
         "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")  # fmt: skip
_AIC = ("Left Shoulder", "Right Shoulder", "Left Elbow", "Right Elbow", "Left Wrist", "Right Wrist",
        "Left Hip", "Right Hip", "Left Knee", "Right Knee", "Left Ankle", "Right Ankle")  # fmt: skip
_H36M = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
         "left_hip", "right_hip", "left_knee", "right_knee", "left_foot", "right_foot")  # fmt: skip
_MHP = ("Left-shoulder", "Right-shoulder", "Left-elbow", "Right-elbow", "Left-wrist", "Right-wrist",
        "Left-hip", "Right-hip", "Left-knee", "Right-knee", "Left-ankle", "Right-ankle")  # fmt: skip
_MPII_ORDER = ("r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
               "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow",
               "l_wrist")  # fmt: skip
_MPII = ("l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
         "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle")  # fmt: skip


@dataclass(frozen=True)
class LabelSet:
    """Where one dataset's labels live and how its joints are named."""

    file: str
    joint_names: tuple[str, ...]  # in LIMB_JOINTS order


LABEL_SETS: dict[str, LabelSet] = {
    "aic": LabelSet("aic__test_aic.json", _AIC),
    "coco": LabelSet("coco__test_coco.json", _COCO),
    "crowdpose": LabelSet("crowdpose__test_crowdpose.json", _COCO),
    "h36m": LabelSet("h36m__h36m_coco.json", _H36M),
    "humanart": LabelSet("humanart__test_humanart.json", _COCO),
    "jhmdb": LabelSet("jhmdb__test_jhmdb_sub1.json", _COCO),
    "mhp": LabelSet("mhp__test_mhp.json", _MHP),
    "mpii": LabelSet("mpii__test_mpii.json", _MPII),
    "ochuman": LabelSet("ochuman__test_ochuman.json", _COCO),
    "posetrack18": LabelSet("posetrack18__009473_mpii_test.json", _COCO),
}


def labelled_people(annotations: Path, dataset: str, image_name: str) -> list[npt.NDArray[np.float64]]:
    """Every labelled person in one image: (12, 3) x, y in pixels and a labelled flag, LIMB_JOINTS order.

    Args:
        annotations: the ``mmpose_testdata`` folder.
        dataset: a key of ``LABEL_SETS``.
        image_name: the image's path in its dataset (matched by suffix).
    """
    spec = LABEL_SETS[dataset]
    data = json.loads((annotations / spec.file).read_text())
    people = []
    if isinstance(data, list):  # MPII's own format
        for entry in data:
            if _same_image(image_name, entry["image"]):
                joints = np.asarray(entry["joints"], np.float64)
                flags = np.asarray(entry["joints_vis"], np.float64)
                index = {name: i for i, name in enumerate(_MPII_ORDER)}
                picks = [index[name] for name in spec.joint_names]
                people.append(np.column_stack([joints[picks], flags[picks] > 0]))
        return people
    names = data["categories"][0]["keypoints"]
    index = {name: i for i, name in enumerate(names)}
    picks = [index[name] for name in spec.joint_names]
    image_ids = {img["id"] for img in data["images"] if _same_image(image_name, img["file_name"])}
    for annotation in data["annotations"]:
        if annotation["image_id"] in image_ids:
            keypoints = np.asarray(annotation["keypoints"], np.float64).reshape(-1, 3)[picks]
            keypoints[:, 2] = keypoints[:, 2] > 0
            people.append(keypoints)
    return people


def torso_size(person: npt.NDArray[np.float64]) -> float | None:
    """Distance between the midpoints of the labelled shoulders and hips, or None without both."""
    shoulders, hips = person[[0, 1]], person[[6, 7]]
    shoulders, hips = shoulders[shoulders[:, 2] > 0], hips[hips[:, 2] > 0]
    if not len(shoulders) or not len(hips):
        return None
    return float(np.linalg.norm(shoulders[:, :2].mean(axis=0) - hips[:, :2].mean(axis=0)))


def _same_image(path_a: str, path_b: str) -> bool:
    """Dataset files name images with different prefixes: compare the last two path components."""
    return (
        Path(path_a).parts[-2:] == Path(path_b).parts[-2:] if "/" in path_b else Path(path_a).name == path_b
    )


def pck(
    landmarks_px: npt.NDArray[np.floating], people: list[npt.NDArray[np.float64]], alpha: float = 0.2
) -> tuple[int, int]:
    """(correct, labelled) limb joints of one predicted pose against the closest labelled person.

    Args:
        landmarks_px: (33, >=2) predicted landmarks in pixels.
        people: ``labelled_people`` output.
    """
    predicted = np.asarray(landmarks_px, np.float64)[list(LIMB_JOINTS), :2]
    best: tuple[float, int, int] | None = None
    for person in people:
        size = torso_size(person)
        labelled = person[:, 2] > 0
        if size is None or size <= 0 or not labelled.any():
            continue
        distance = np.linalg.norm(predicted[labelled] - person[labelled, :2], axis=1)
        score = float(np.mean(distance) / size)
        correct = int(np.count_nonzero(distance <= alpha * size))
        if best is None or score < best[0]:
            best = (score, correct, int(labelled.sum()))
    return (best[1], best[2]) if best else (0, 0)
