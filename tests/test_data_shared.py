"""The real data sets: counts of the data README, and the CSV and folder label orders agreeing."""

import tarfile

import cv2
import numpy as np
import pytest

from ferkit.data import prepare
from ferkit.labels import FER2013_CLASSES

pytestmark = pytest.mark.shared

TRAINING_COUNTS = {
    "angry": 3995,
    "disgust": 436,
    "fear": 4097,
    "happy": 7215,
    "sad": 4830,
    "surprise": 3171,
    "neutral": 4965,
}


@pytest.fixture(scope="module")
def fer2013_store(shared_data, tmp_path_factory):
    return prepare(shared_data / "fer2013-images.tar.gz", tmp_path_factory.mktemp("s") / "fer2013.npz")


def test_fer2013_image_release_counts(fer2013_store):
    counts = fer2013_store.counts()
    assert {split: sum(row.values()) for split, row in counts.items()} == {
        "Training": 28709,
        "PublicTest": 3589,
        "PrivateTest": 3589,
    }
    assert counts["Training"] == TRAINING_COUNTS


# Every 7th image: every folder and split, in a seventh of the time (the whole release took a minute of CI).
CSV_EVERY = 7


def test_csv_from_the_image_release_gives_the_same_images_and_labels(shared_data, fer2013_store, tmp_path):
    """Decode every 7th JPEG, write fer2013.csv with the Kaggle emotion indices, ingest it, compare."""
    csv_path = tmp_path / "fer2013.csv"
    with tarfile.open(shared_data / "fer2013-images.tar.gz") as archive, open(csv_path, "w") as handle:
        handle.write("emotion,pixels,Usage\n")
        images = (member for member in archive if member.isfile())
        for index, member in enumerate(images):
            if index % CSV_EVERY:
                continue
            emotion = member.name.split("/")[-2]
            data = np.frombuffer(archive.extractfile(member).read(), np.uint8)
            pixels = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
            usage = member.name.rsplit("/", 1)[-1].split("_")[0]
            handle.write(f"{FER2013_CLASSES.index(emotion)},{' '.join(map(str, pixels.ravel()))},{usage}\n")
    from_csv = prepare(csv_path, tmp_path / "csv.npz")
    # The CSV keeps archive order, as the folder ingest does; rows are compared one to one.
    expected = fer2013_store.subset(np.arange(len(fer2013_store.labels)) % CSV_EVERY == 0)
    np.testing.assert_array_equal(from_csv.images, expected.images)
    np.testing.assert_array_equal(from_csv.labels, expected.labels)
    np.testing.assert_array_equal(from_csv.splits, expected.splits)
    assert set(expected.labels) == set(range(7)) and set(expected.splits) == set(fer2013_store.splits)


def test_ferplus_counts_and_row_join(shared_data, tmp_path):
    store = prepare(shared_data / "ferplus.tar.gz", tmp_path / "ferplus.npz")
    totals = {split: sum(row.values()) for split, row in store.counts().items()}
    assert totals == {"Training": 28558, "PublicTest": 3579, "PrivateTest": 3573}
    # The faces FER+ results are reported on: Barsoum et al.'s majority vote, as their reference code reads the splits.
    labelled = {split: sum(n for cls, n in row.items() if cls != "none") for split, row in store.counts().items()}
    assert labelled == {"Training": 25045, "PublicTest": 3191, "PrivateTest": 3137}
    ids = store.source_ids.astype(int)
    # Row 59 of fer2013.csv has no FER+ image, so fer0000059.png is row 60: the README's "file
    # number = row" is wrong from there on. (Rows 17 and 23 are "not a face" and have no image.)
    assert ids[55:58].tolist() == [57, 58, 60]
    assert len(set(ids.tolist())) == len(ids)
    assert store.votes.sum(axis=1).min() > 0
