"""ESMM, the Entire Space Multi-task Model (Ma et al., 2018), for the click → purchase funnel.

    pCTR   = P(click | x)                 (the CTR tower)
    pCVR   = P(purchase | click, x)       (the CVR tower)
    pCTCVR = P(click and purchase | x) = pCTR × pCVR

Both towers read the same embeddings. The losses use only labels observed on *every*
impression: the click label for pCTR and the click-and-purchase label for pCTCVR,

    L = λ_click BCE(click, pCTR) + λ_purchase BCE(click ∧ purchase, pCTR × pCVR),

so pCVR is learned over the entire impression space, not only over clicked rows (which would
be a biased sample) and without the sparse "purchase given click" labels alone. The shop's
``purchase`` label is exactly "clicked and purchased" over all impressions.

Outputs (``predict_tasks``): the two tasks ("click" = pCTR, "purchase" = pCTCVR) and "cvr" =
pCVR, which has no loss of its own.
"""

from __future__ import annotations

import keras

from mtl_kit.models.base import MultiTaskNet, trainable_of
from mtl_kit.models.hard import BOTTOM_SEED, head_seed
from mtl_kit.models.layers import apply_stack, dense_stack, output_layer
from mtl_kit.tasks import TaskSpec
from mtl_kit.validation import check_units


@keras.saving.register_keras_serializable(package="mtl_kit")
class ESMMNet(MultiTaskNet):
    """ESMM: pCTCVR = pCTR × pCVR, trained on click and click∧purchase over all impressions.

    Args:
        click_task, purchase_task: the label names of the click and click∧purchase labels.
        ctr_tower, cvr_tower: widths of the two towers' Dense+ReLU layers.
    """

    def __init__(self, features, click_task: str = "click", purchase_task: str = "purchase",
                 ctr_tower=(64, 32), cvr_tower=(64, 32), tasks=None, **kwargs):
        ctr_tower = check_units("ctr_tower", ctr_tower)
        cvr_tower = check_units("cvr_tower", cvr_tower)
        for argument, value in (("click_task", click_task), ("purchase_task", purchase_task)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{argument} must be a label name, got {value!r}")
        if click_task == purchase_task:
            raise ValueError("click_task and purchase_task must differ")
        specs = [TaskSpec(click_task, "binary"), TaskSpec(purchase_task, "binary")]
        super().__init__(specs, features, **kwargs)
        self.click_task, self.purchase_task = click_task, purchase_task
        self.ctr_units, self.cvr_units = ctr_tower, cvr_tower
        self.encoder = self.make_encoder()
        self.ctr_tower = dense_stack(ctr_tower, self.seed + BOTTOM_SEED, "ctr_tower")
        self.cvr_tower = dense_stack(cvr_tower, self.seed + BOTTOM_SEED + 50, "cvr_tower")
        self.ctr_output = output_layer(specs[0], head_seed(self.seed, 0) + 9, name="pctr")
        self.cvr_output = output_layer(specs[1], head_seed(self.seed, 1) + 9, name="pcvr")
        self._finish_init()

    def call(self, inputs, training=False):
        h = self.encoder(inputs)
        p_ctr = self.ctr_output(apply_stack(self.ctr_tower, h))
        p_cvr = self.cvr_output(apply_stack(self.cvr_tower, h))
        return {self.click_task: p_ctr, self.purchase_task: p_ctr * p_cvr, "cvr": p_cvr}

    def parameter_readers(self) -> list:
        """pCTCVR = pCTR × pCVR: the purchase loss reads the CTR tower too, so the encoder and
        the whole CTR tower are shared and the click task owns nothing; the CVR tower is the
        purchase task's own."""
        both = (self.click_task, self.purchase_task)
        return [(trainable_of(self.encoder, self.ctr_tower, self.ctr_output), both),
                (trainable_of(self.cvr_tower, self.cvr_output), (self.purchase_task,))]

    @property
    def last_shared_variables(self) -> list:
        """The pCTR output layer: the last layer both losses read."""
        return self._only_shared(trainable_of(self.ctr_output))

    def get_config(self):
        config = super().get_config()
        config.pop("tasks")
        config.update(click_task=self.click_task, purchase_task=self.purchase_task,
                      ctr_tower=list(self.ctr_units), cvr_tower=list(self.cvr_units))
        return config


def build_esmm(features, click_task: str = "click", purchase_task: str = "purchase",
               ctr_tower=(64, 32), cvr_tower=(64, 32), loss_weights=None, seed: int = 0,
               learning_rate: float = 1e-3, embedding_dim: int = 8, weighting=None,
               **compile_kwargs) -> ESMMNet:
    """A compiled ESMM (Adam)."""
    keras.utils.set_random_seed(seed)
    model = ESMMNet(features, click_task=click_task, purchase_task=purchase_task,
                    ctr_tower=ctr_tower, cvr_tower=cvr_tower, loss_weights=loss_weights,
                    weighting=weighting, embedding_dim=embedding_dim, seed=seed)
    model.compile(learning_rate=learning_rate, **compile_kwargs)
    return model
