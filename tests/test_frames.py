"""From a DataFrame to inputs, labels and a FeatureSpec; the encoder saved with the model."""

import numpy as np
import pandas as pd
import pytest

from mtl_kit.frames import UNKNOWN, FrameEncoder, encode_frame, load_model, save_model


@pytest.fixture
def frame():
    return pd.DataFrame({
        "city": ["b", "a", "b", "c"],
        "price": [1.0, 2.0, 3.0, 4.0],
        "text": ["buy lamp", "which lamp", "买灯", None],
        "click": [1, 0, np.nan, 1],
        "intent": ["buy", "ask", None, "buy"],
        "dwell": [2.5, 3.0, 1.0, np.nan],
    })


def encode(frame):
    return encode_frame(frame, categorical=["city"], numeric=["price"], text=["text"],
                        labels={"click": "binary", "intent": "multiclass",
                                "dwell": "regression"})


def test_encoding_of_every_kind_of_column(frame):
    x, y, encoder = encode(frame)
    assert x["city"].tolist() == [1, 2, 1, 3]                 # most frequent first; 0: unknown
    assert x["city"].dtype == np.int32
    price = x["numeric"][:, 0]
    np.testing.assert_allclose(price, (frame["price"] - 2.5) / frame["price"].std(ddof=0),
                               rtol=1e-6)
    assert x["numeric"].shape == (4, 1 + len(encoder.text["text"]))
    assert encoder.numeric_names[0] == "price" and encoder.numeric_names[1].startswith("text:")
    np.testing.assert_array_equal(y["click"], [1, 0, np.nan, 1])
    np.testing.assert_array_equal(y["intent"], [1, 0, np.nan, 1])   # classes ask, buy
    assert encoder.class_names("intent") == ["ask", "buy"]
    assert [(t.name, t.kind, t.n_classes) for t in encoder.tasks] == [
        ("click", "binary", None), ("intent", "multiclass", 2), ("dwell", "regression", None)]
    spec = encoder.features
    assert spec.categorical == {"city": 4} and spec.vocabularies["city"][0] == UNKNOWN


def test_new_rows_are_encoded_as_in_training_and_unknown_values_go_to_bucket_zero(frame):
    _, _, encoder = encode(frame)
    new = pd.DataFrame({"city": ["c", "zzz"], "price": [2.5, 2.5], "text": ["lamp", "??"]})
    x = encoder.inputs(new)
    assert x["city"].tolist() == [3, 0]
    np.testing.assert_allclose(x["numeric"][:, 0], 0.0, atol=1e-7)
    again = FrameEncoder.from_dict(encoder.to_dict())
    for key, value in encoder.inputs(frame).items():
        np.testing.assert_array_equal(again.inputs(frame)[key], value)


@pytest.mark.parametrize("change, labels, message", [
    (lambda f: f.assign(price=["1", "x", "2", "3"]), None, "numeric column 'price' must hold "
                                                             "numbers, got text 'x' at row 1"),
    (lambda f: f.assign(price=[1, np.nan, 2, 3]), None, "finite numbers"),
    (lambda f: f.assign(click=[0, 1, 2, 1]), None, r"label column 'click' \(binary\) must hold "
                                                     "0 or 1"),
    (lambda f: f.assign(click=["yes", 1, 0, 1]), None, "must hold numbers, got text 'yes'"),
    (lambda f: f.drop(columns="city"), None, r"categorical column\(s\) \['city'\] not in the "
                                              "frame"),
    (lambda f: f, {"clicks": "binary"}, r"labels column\(s\) \['clicks'\]"),
    (lambda f: f, {"click": "ranking"}, "labels\\['click'\\] must be one of"),
    (lambda f: f, {"price": "regression"}, "listed twice"),
    (lambda f: f.assign(intent=["buy"] * 4), {"intent": "multiclass"}, "at least 2 classes"),
])
def test_bad_frames_are_refused_naming_the_column(frame, change, labels, message):
    labels = labels or {"click": "binary"}
    with pytest.raises(ValueError, match=message):
        encode_frame(change(frame), categorical=["city"], numeric=["price"], labels=labels)


def test_bad_arguments_are_refused(frame):
    with pytest.raises(TypeError, match="DataFrame"):
        encode_frame(frame.to_dict(), categorical=["city"])
    with pytest.raises(TypeError, match="write \\['city'\\]"):
        encode_frame(frame, categorical="city")
    with pytest.raises(ValueError, match="at least one input"):
        encode_frame(frame, labels={"click": "binary"})
    _, _, encoder = encode(frame)
    with pytest.raises(ValueError, match="multiclass label column"):
        encoder.class_names("click")
    with pytest.raises(ValueError, match=r"inputs column\(s\) \['price'\]"):
        encoder.inputs(frame.drop(columns="price"))
    with pytest.raises(ValueError, match="training classes"):
        encoder.targets(frame.assign(intent=["buy", "sell", None, "ask"]))


@pytest.mark.slow  # builds, trains and saves a small model (about 5 s on a loaded machine)
def test_model_saved_with_its_encoder_predicts_the_same(frame, tmp_path):
    from mtl_kit.models import build_hard_sharing

    big = pd.concat([frame] * 10, ignore_index=True)
    x, y, encoder = encode(big)
    model = build_hard_sharing(encoder.tasks, encoder.features, shared=(8,), head=(4,))
    model.fit(x, y, epochs=1)
    path = save_model(model, encoder, tmp_path / "model.keras")
    loaded, loaded_encoder = load_model(path)
    new = frame.assign(city=["zzz", "a", "b", "c"])
    before = model.predict_tasks(encoder.inputs(new))
    after = loaded.predict_tasks(loaded_encoder.inputs(new))
    for task in before:
        np.testing.assert_allclose(after[task], before[task], atol=1e-5)
    with pytest.raises(ValueError, match=r"\.keras"):
        save_model(model, encoder, tmp_path / "model.h5")
    model.save(tmp_path / "plain.keras")
    with pytest.raises(ValueError, match="no frame encoder"):
        load_model(tmp_path / "plain.keras")
