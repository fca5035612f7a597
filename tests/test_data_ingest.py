import json
import shutil
import tarfile
import zipfile

import numpy as np
import pytest

from conftest import kaggle_tree_to_csv, write_ferplus_tree
from ferkit.data import load_store, prepare
from ferkit.data.votes import ferplus_majority
from ferkit.errors import DataError
from ferkit.labels import FER2013_6_CLASSES, FER2013_CLASSES, FERPLUS_7_CLASSES, FERPLUS_CLASSES


def by_id(store):
    order = np.argsort(store.source_ids)
    return store.images[order], store.labels[order], store.splits[order]


def test_kaggle_folder_labels_follow_the_csv_order(kaggle_tree, tmp_path):
    store = prepare(kaggle_tree, tmp_path / "s.npz")
    assert store.classes == FER2013_CLASSES
    assert len(store) == 2 * 7 * 3
    assert store.equalized
    # face_like() draws a bright band at row 6*label: the label must match the folder's emotion.
    for image, label in zip(store.images, store.labels):
        assert image[6 * label : 6 * label + 6].mean() > 200
    assert store.counts()["Training"] == {name: 2 for name in FER2013_CLASSES}


@pytest.mark.parametrize("packer", ["tar.gz", "zip"])
def test_archives_ingest_like_the_folder(kaggle_tree, tmp_path, packer):
    archive = tmp_path / f"images.{packer}"
    if packer == "zip":
        with zipfile.ZipFile(archive, "w") as handle:
            for path in kaggle_tree.rglob("*.png"):
                handle.write(path, path.relative_to(kaggle_tree))
    else:
        with tarfile.open(archive, "w:gz") as handle:
            handle.add(kaggle_tree, arcname="fer2013")  # a top folder, as some repacks have
    folder_store = prepare(kaggle_tree, tmp_path / "a.npz")
    archive_store = prepare(archive, tmp_path / "b.npz")
    for left, right in zip(by_id(folder_store), by_id(archive_store)):
        np.testing.assert_array_equal(left, right)


def test_csv_built_from_images_matches_the_folders(kaggle_tree, tmp_path):
    kaggle_tree_to_csv(kaggle_tree, tmp_path / "fer2013.csv")
    from_folders = prepare(kaggle_tree, tmp_path / "a.npz")
    from_csv = prepare(tmp_path / "fer2013.csv", tmp_path / "b.npz")
    assert from_csv.classes == from_folders.classes
    key = lambda s: np.lexsort((s.labels, s.splits, s.images.reshape(len(s), -1).sum(1)))  # noqa: E731
    a, b = key(from_folders), key(from_csv)
    np.testing.assert_array_equal(from_folders.images[a], from_csv.images[b])
    np.testing.assert_array_equal(from_folders.labels[a], from_csv.labels[b])
    np.testing.assert_array_equal(from_folders.splits[a], from_csv.splits[b])


def test_store_round_trip_and_atomic_write(kaggle_tree, tmp_path):
    written = prepare(kaggle_tree, tmp_path / "out" / "s.npz")
    loaded = load_store(tmp_path / "out" / "s.npz")
    np.testing.assert_array_equal(written.images, loaded.images)
    assert loaded.data_hash() == written.data_hash()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["s.npz"]


def test_merge_disgust_and_keep_splits(kaggle_tree, tmp_path):
    store = prepare(kaggle_tree, tmp_path / "s.npz", merge_disgust=True, splits=["Training", "PrivateTest"])
    assert store.classes == FER2013_6_CLASSES
    assert set(store.counts()) == {"Training", "PrivateTest"}
    assert store.counts()["Training"]["angry"] == 4  # 2 angry + 2 disgust


def test_equalize_option_marks_the_store(kaggle_tree, tmp_path):
    kaggle_tree_to_csv(kaggle_tree, tmp_path / "fer2013.csv")
    assert not prepare(tmp_path / "fer2013.csv", tmp_path / "a.npz").equalized
    store = prepare(tmp_path / "fer2013.csv", tmp_path / "b.npz", equalize=True)
    assert store.equalized and store.images.max() == 255


def test_ferplus_joins_through_row_order_and_votes(tmp_path):
    rows = write_ferplus_tree(tmp_path / "ferplus")
    store = prepare(tmp_path / "ferplus", tmp_path / "p.npz")
    assert store.classes == FERPLUS_CLASSES and store.votes.shape == (6, 10)
    by_name = dict(zip(store.source_ids.tolist(), store.labels.tolist()))
    # row 1 has no image, so fer0000001 is row 2; the repeated fer0000005 is row 6, whose votes agree.
    assert set(by_name) == {"0", "2", "3", "4", "5", "6"}
    assert by_name["0"] == FERPLUS_CLASSES.index("neutral")
    assert by_name["3"] == -1  # disgust has 4 of 10 votes: the most, but no majority
    assert by_name["5"] == -1  # "unknown" won the vote
    plurality = dict(zip(store.source_ids.tolist(), store.plurality_labels().tolist()))
    assert plurality["3"] == FERPLUS_CLASSES.index("disgust") and plurality["5"] == -1
    assert store.counts()["PrivateTest"]["none"] == 1
    np.testing.assert_array_equal(store.votes[store.source_ids == "6"][0], rows[6][2])


@pytest.mark.parametrize(
    "votes, label",
    [
        ([6, 4, 0, 0, 0, 0, 0, 0, 0, 0], 0),  # 6 of 10: a majority
        ([5, 5, 0, 0, 0, 0, 0, 0, 0, 0], -1),  # half is not more than half
        ([5, 1, 1, 1, 1, 1, 0, 0, 0, 0], 0),  # lone votes are outliers, so 5 of the 5 that count
        ([0, 0, 4, 0, 0, 0, 2, 0, 2, 2], -1),  # 4 of 10
        ([0, 0, 0, 0, 0, 0, 0, 3, 7, 0], -1),  # "unknown" holds the majority
        ([0, 0, 0, 0, 0, 0, 0, 7, 0, 3], 7),  # contempt beats "not a face"
    ],
)
def test_ferplus_majority_follows_barsoum(votes, label):
    assert ferplus_majority(np.array([votes], np.uint8)).tolist() == [label]


def test_store_with_labels_from_an_older_rule_is_refused(tmp_path):
    write_ferplus_tree(tmp_path / "ferplus")
    path = tmp_path / "p.npz"
    prepare(tmp_path / "ferplus", path)
    with np.load(path) as archive:
        arrays = dict(archive)
    meta = json.loads(str(arrays["meta"]))
    del meta["label_rule"]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    with pytest.raises(DataError, match="prepare it again"):
        load_store(path)


def test_ferplus_merge_moves_disgust_votes_to_anger(tmp_path):
    write_ferplus_tree(tmp_path / "ferplus")
    store = prepare(tmp_path / "ferplus", tmp_path / "p.npz", merge_disgust=True)
    assert store.classes == FERPLUS_7_CLASSES
    assert store.labels[store.source_ids == "3"][0] == FERPLUS_7_CLASSES.index("anger")  # 3 anger + 4 disgust


def test_fer2013_csv_with_ferplus_votes(kaggle_tree, tmp_path):
    rows = write_ferplus_tree(tmp_path / "ferplus")
    csv_path = tmp_path / "fer2013.csv"
    with open(csv_path, "w") as handle:
        handle.write("emotion,pixels,Usage\n")
        for usage, _, _ in rows:
            handle.write(f"0,{' '.join(['7'] * 2304)},{usage}\n")
    store = prepare(csv_path, tmp_path / "v.npz", votes=tmp_path / "ferplus" / "fer2013new.csv")
    assert store.label_set == "ferplus"
    assert len(store) == 7  # the row without an image name is not a face


def test_resize_option(tmp_path):
    import cv2

    root = tmp_path / "big" / "train" / "happy"
    root.mkdir(parents=True)
    cv2.imwrite(str(root / "Training_1.png"), np.full((96, 96), 128, np.uint8))
    with pytest.raises(DataError, match=r"Training_1.png: image is 96x96, expected 48x48 \(use --resize\)"):
        prepare(tmp_path / "big", tmp_path / "a.npz")
    assert prepare(tmp_path / "big", tmp_path / "a.npz", resize=True).images.shape == (1, 48, 48)


def test_existing_output_needs_force(kaggle_tree, tmp_path):
    prepare(kaggle_tree, tmp_path / "s.npz")
    with pytest.raises(DataError, match="already exists"):
        prepare(kaggle_tree, tmp_path / "s.npz")
    prepare(kaggle_tree, tmp_path / "s.npz", force=True)


def test_a_copy_of_a_source_folder_elsewhere_is_found(kaggle_tree, tmp_path):
    nested = tmp_path / "deep" / "release"
    shutil.copytree(kaggle_tree, nested)
    assert len(prepare(tmp_path / "deep", tmp_path / "s.npz")) == 42


def test_faces_pair_with_their_jpeg_copies_and_not_with_strangers():
    """data.pairing: each face finds its equalised, JPEG-compressed copy among shuffled others; a face whose copy
    is absent stays unpaired rather than taking the nearest stranger."""
    import cv2

    from ferkit.data.pairing import pair_faces

    rng = np.random.default_rng(5)
    # Smooth random faces (noise blurred), so thumbnails differ as real faces do.
    faces = np.stack([cv2.GaussianBlur(rng.integers(0, 256, (48, 48), dtype=np.uint8), (0, 0), 3) for _ in range(40)])
    copies = []
    for face in faces[:30]:
        _, jpeg = cv2.imencode(".jpg", cv2.equalizeHist(face), [cv2.IMWRITE_JPEG_QUALITY, 75])
        copies.append(cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE))
    order = rng.permutation(30)
    partner, paired = pair_faces(np.stack([cv2.equalizeHist(face) for face in faces]), np.stack(copies)[order])
    assert paired[:30].all() and (order[partner[:30]] == np.arange(30)).all()
    assert not paired[30:].any()
