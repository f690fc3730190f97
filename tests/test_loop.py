"""The library layer (tinyseg.loop): a training step, evaluate and predict, each held against the
same computation written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

import tinyseg
from tinyseg.engine import backend
from tinyseg import training
from tinyseg import models, nn, optim
from tinyseg.data import CAMVID, Classes, DataLoader, SyntheticScenes
from tinyseg.functional import cross_entropy, interpolate
from tinyseg.metrics import ConfusionMatrix
from tinyseg.engine.tensor import Tensor, no_grad


def _model(num_classes: int = 4, seed: int = 0, **kwargs) -> nn.Module:
    tinyseg.manual_seed(seed)
    return models.SegNetBasic(num_classes=num_classes, **kwargs)


def _batch(n: int = 2, size: tuple[int, int] = (16, 16), num_classes: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((n, 3, *size)).astype(np.float32)
    labels = rng.integers(0, num_classes + 1, (n, *size)).astype(np.uint8)  # num_classes: ignored
    return backend.to_device(images), backend.to_device(labels)


def test_train_step_is_forward_loss_backward_update():
    images, labels = _batch()
    weight = backend.to_device(np.array([1.0, 2.0, 0.5, 1.5], np.float32))
    a, b = _model(), _model()
    opt_a = optim.SGD(a.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    opt_b = optim.SGD(b.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    for _ in range(2):
        loss = training.train_step(a, opt_a, images, labels, weight=weight, ignore_index=4)
        by_hand = cross_entropy(b(Tensor(images)), labels, weight=weight, ignore_index=4, normalization="caffe")
        opt_b.zero_grad()
        by_hand.backward()
        opt_b.step()
        assert loss.shape == () and float(loss) == pytest.approx(float(by_hand.data), rel=1e-6)
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_allclose(backend.to_numpy(pa.data), backend.to_numpy(pb.data), rtol=1e-5, atol=1e-6,
                                   err_msg=name)


def test_train_step_lowers_the_loss_on_one_batch():
    images, labels = _batch(size=(16, 16))
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = [float(training.train_step(model, opt, images, labels, ignore_index=4)) for _ in range(15)]
    assert losses[-1] < 0.7 * losses[0], losses


def _hand_scores(model, batches, num_classes, ignore_index):
    cm = ConfusionMatrix(num_classes, ignore_index)
    model.eval()
    with no_grad():
        for images, labels in batches:
            scores = model(Tensor(images))
            if tuple(scores.shape[2:]) != tuple(labels.shape[1:]):
                scores = interpolate(scores, tuple(labels.shape[1:]))
            cm.update(scores.data.argmax(axis=1), labels)
    return cm.scores()


def test_evaluate_equals_the_confusion_matrix_by_hand_and_upsamples_to_the_labels():
    model = _model()
    small = [_batch(size=(16, 16), seed=s) for s in range(2)]
    # labels at twice the input size: the scores are upsampled to them before the argmax
    big = [(images, backend.to_device(np.repeat(np.repeat(backend.to_numpy(labels), 2, 1), 2, 2)))
           for images, labels in small]
    for batches in (small, big):
        got = training.evaluate(model, batches, 4, ignore_index=4, keep=3)
        want = _hand_scores(model, batches, 4, 4)
        for key in ("global_acc", "class_acc", "miou"):
            assert got[key] == pytest.approx(want[key]), key
        assert got["label_size"] == tuple(batches[0][1].shape[1:]) and got["input_size"] == (16, 16)
        assert len(got["samples"]) == 3 and got["samples"][0][2].shape == batches[0][1].shape[1:]
        assert "bf" not in got


def test_evaluate_restores_each_layers_mode_and_adds_bf_when_asked():
    model = _model()
    model.train()
    model.enc1.eval()  # a mixed state, as bn_stats leaves it mid-way
    got = training.evaluate(model, [_batch()], 4, 4, boundary_f1=True)
    assert 0.0 <= got["bf"] <= 1.0
    assert model.training and not model.enc1.training and model.dec1.training
    with pytest.raises(ValueError, match="no batches"):
        training.evaluate(model, [], 4, 4)


def test_evaluate_on_a_loader_of_synthetic_scenes():
    ds = SyntheticScenes(4, size=(32, 32), seed=1)
    loader = DataLoader(ds, 2, transforms=training.make_transforms(None))
    model = _model(num_classes=len(ds.classes))
    got = training.evaluate(model, loader, len(ds.classes), ds.classes.ignore_index)
    assert 0.0 <= got["miou"] <= 1.0 and len(got["per_class_iou"]) == 11


def test_predict_gives_one_class_map_per_image_at_its_own_size():
    model = _model()
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (20, 28, 3), dtype=np.uint8), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)]
    preds = training.predict(model, images, size=(16, 16))
    assert [p.label.shape for p in preds] == [(20, 28), (32, 32)] and preds[0].label.dtype == np.uint8
    assert all(p.entropy is None for p in preds)
    # by hand: resize, normalise, forward, upsample the scores to the image, argmax
    x = training.ModelInputs([(images[0], np.zeros((20, 28), np.uint8))], (16, 16))[0][0]
    with nn.eval_mode(model):
        scores = training.class_scores(model, backend.to_device(x.transpose(2, 0, 1)[None].copy()), out_size=(20, 28))
    np.testing.assert_array_equal(preds[0].label, backend.to_numpy(scores.argmax(axis=1))[0])
    with pytest.raises(ValueError, match=r"RGB arrays \(H, W, 3\), got shape \(20, 28\)"):
        training.predict(model, [images[0][..., 0]])


def test_predict_with_mc_dropout_gives_entropy_at_the_image_size():
    model = _model(dropout=(0.0, 0.0, 0.5, 0.5))
    image = np.random.default_rng(0).integers(0, 256, (24, 20, 3), dtype=np.uint8)
    pred, = training.predict(model, [image], size=(16, 16), mc_samples=3)
    assert pred.label.shape == pred.entropy.shape == (24, 20)
    assert np.all(pred.entropy >= 0) and np.all(pred.entropy <= np.log(4) + 1e-5)


def test_class_weights_follow_the_data_sets_classes():
    ds = SyntheticScenes(6, size=(32, 32), seed=0)
    assert training.class_weights("none", ds) is None
    median, soft = training.class_weights("median", ds), training.class_weights("sqrt-median", ds)
    assert median.shape == (len(CAMVID),) and median.dtype == np.float32
    np.testing.assert_allclose(soft, np.sqrt(median), rtol=1e-6)
    assert training.class_weights("segnet-tutorial", ds).shape == (11,)

    class TwoClasses:
        classes = Classes(("background", "cell"), ((0, 0, 0), (255, 0, 0)), 255)

        def __len__(self):
            return 2

        def __getitem__(self, i):
            if i >= 2:
                raise IndexError(i)
            return np.zeros((4, 4, 3), np.uint8), np.array([[0, 0, 1, 1, 255]] * 4, np.uint8)

    weights = training.class_weights("median", TwoClasses())
    np.testing.assert_allclose(weights, [1.0, 1.0])  # equal frequencies: equal weights
    with pytest.raises(ValueError, match="CamVid's 11; this data set has 2 classes"):
        training.class_weights("segnet-tutorial", TwoClasses())


def test_augmentation_pads_labels_with_the_data_sets_ignored_label():
    image, label = np.zeros((40, 40, 3), np.uint8), np.zeros((40, 40), np.uint8)
    pads = set()
    for ignore in (255, 11, None):
        t = training.make_transforms(None, augment=True, ignore_index=ignore)
        rng = np.random.default_rng(0)
        seen = set()
        for _ in range(30):  # some draws scale below 1 and pad (unless nothing may be padded)
            seen |= set(np.unique(t(image, label, rng)[1]).tolist())
        pads.add((ignore, tuple(sorted(seen))))
    assert pads == {(255, (0, 255)), (11, (0, 11)), (None, (0,))}
