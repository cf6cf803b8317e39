"""The network builder: 200 sampled architectures on tiny inputs, blocks, options, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gcn_models.attention import ChannelWeights, FrameWeights, JointWeights
from gcn_models.blocks import GraphConv
from gcn_models.cost import count_parameters
from gcn_models.heads import SpatialPoolHead
from gcn_models.layers import SqueezeExcitation
from gcn_models.network import ModelOptions, SearchGCN, build_model
from gcn_models.space import default_space

SPACE = default_space()
NUM_ARCHS, FRAMES, JOINTS, CHANNELS, CLASSES = 200, 24, 19, 6, 3
_rng = np.random.default_rng(2024)
ARCHS = [SPACE.sample(_rng) for _ in range(NUM_ARCHS)]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def base_arch(**overrides) -> dict:
    arch = {name: values[0] for name, values in SPACE.choices.items()}
    arch.update(overrides)
    return arch


def make(arch, *, options=None, in_channels=CHANNELS, seed=0) -> SearchGCN:
    torch.manual_seed(seed)
    return build_model(
        arch, layout="infant19", in_channels=in_channels, num_classes=CLASSES, options=options
    )


def batch(n: int = 2, *, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, CHANNELS, FRAMES, JOINTS, generator=generator, dtype=dtype)


# ------------------------------------------------------------------ registry-driven sweep


@pytest.mark.parametrize("index", range(NUM_ARCHS))
def test_sampled_architecture_trains_and_evaluates(index):
    model = make(ARCHS[index], seed=index)
    x = batch(seed=index)
    logits, features = model(x)
    assert logits.shape == (2, CLASSES)
    assert features.shape == (2, model.feature_channels, model.output_length(FRAMES), JOINTS)
    assert torch.isfinite(logits).all() and torch.isfinite(features).all()

    F.cross_entropy(logits, torch.tensor([0, 2])).backward()
    without_grad = [name for name, p in model.named_parameters() if p.grad is None]
    assert without_grad == []
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())

    model.eval()
    with torch.no_grad():
        single, _ = model(x[:1])
    assert single.shape == (1, CLASSES) and torch.isfinite(single).all()


def test_sampled_architectures_cover_every_value_of_every_choice():
    for name, values in SPACE.choices.items():
        seen = {arch[name] for arch in ARCHS}
        assert set(values) <= seen, f"{name}: never sampled {set(values) - seen}"


# ------------------------------------------------------------------ canonical form is sound

COLLAPSE_CASES = [
    base_arch(se="outer", se_ratio=4, se_type="relative"),
    base_arch(se="both", se_ratio=2, num_main_levels=2, block_type="mbconv"),
    base_arch(num_input_modules=1, input_temporal_scales="linear", se="outer"),
    base_arch(num_main_levels=1, main_temporal_scales="linear", se="both", se_type="relative"),
    base_arch(  # outer SE only in the input branches: se_type cannot matter
        se="outer", input_temporal_scales=2, num_main_levels=2, se_type="relative",
        block_type="mbconv", initial_block_type="mbconv", bottleneck_factor=4,
    ),
    base_arch(se="null", se_ratio=4, se_type="relative", num_main_levels=2),
]  # fmt: skip


def same_network(a: SearchGCN, b: SearchGCN) -> bool:
    state_a, state_b = a.state_dict(), b.state_dict()
    if state_a.keys() != state_b.keys():
        return False
    if any(state_a[k].shape != state_b[k].shape for k in state_a):
        return False
    if any(not torch.equal(state_a[k], state_b[k]) for k in state_a):
        return False
    a.eval()
    b.eval()
    with torch.no_grad():
        return torch.equal(a(batch())[0], b(batch())[0])


def build_raw(arch, options=None) -> SearchGCN:
    torch.manual_seed(0)
    return SearchGCN(
        arch, layout="infant19", in_channels=CHANNELS, num_classes=CLASSES, options=options
    )


@pytest.mark.parametrize("quirk", [True, False])
@pytest.mark.parametrize("case", range(len(COLLAPSE_CASES)))
def test_collapsed_configurations_build_the_same_network(case, quirk):
    raw = COLLAPSE_CASES[case]
    canonical = SPACE.canonical(raw)
    assert canonical != {k: raw[k] for k in canonical}  # something was collapsed
    options = ModelOptions(mbconv_outer_se_quirk=quirk)
    assert same_network(build_raw(raw, options), build_raw(canonical, options))


@pytest.mark.parametrize("seed", range(8))
def test_uniform_raw_configurations_build_their_canonical_network(seed):
    rng = np.random.default_rng(seed)
    raw = {name: values[rng.integers(len(values))] for name, values in SPACE.choices.items()}
    assert same_network(build_raw(raw), build_raw(SPACE.canonical(raw)))


def test_same_network_detects_a_choice_that_matters():
    # Negative control: with two levels and inner SE, se_type changes the level-2 ratio.
    relative = base_arch(se="inner", se_ratio=2, se_type="relative", num_main_levels=2)
    absolute = {**relative, "se_type": "absolute"}
    assert not same_network(build_raw(relative), build_raw(absolute))


# ------------------------------------------------------------------ model behaviour


def test_training_with_batch_one_is_refused_and_eval_is_fine():
    model = make(base_arch(attention="channel"))
    with pytest.raises(ValueError, match="at least 2 samples"):
        model(batch(1))
    model.eval()
    logits, _ = model(batch(1))
    assert logits.shape == (1, CLASSES)


@pytest.mark.parametrize("attention", SPACE.choices["attention"])
def test_eval_batch_one_works_for_every_attention(attention):
    model = make(base_arch(attention=attention)).eval()
    with torch.no_grad():
        assert model(batch(1))[0].shape == (1, CLASSES)


def test_bad_inputs_get_clear_errors():
    model = make(base_arch())
    with pytest.raises(ValueError, match=r"shape \(N, C, T, V\), got \(6, 24, 19\)"):
        model(batch()[0])
    with pytest.raises(ValueError, match="C = 5, V = 19; this model was built for C = 6"):
        model(batch()[:, :5])
    with pytest.raises(ValueError, match=r"multiple of the 3 input branches"):
        make(base_arch(), in_channels=4)
    with pytest.raises(ValueError, match="valid values: basic, bottleneck, mbconv"):
        make(base_arch(block_type="gru"))
    with pytest.raises(ValueError, match="unknown choice name"):
        make({**base_arch(), "dropout": 0})
    partial = base_arch()
    del partial["pool"]
    with pytest.raises(ValueError, match="misses choice"):
        build_raw(partial)


def test_float64_and_feature_head_split():
    model = make(base_arch(attention="frame", pool="spatial")).double().eval()
    x = batch(dtype=torch.float64)
    logits, features = model(x)
    assert logits.dtype == torch.float64
    torch.testing.assert_close(model.forward_head(model.forward_features(x)), logits)


def test_model_exposes_canonical_arch():
    raw = base_arch(se="outer", se_ratio=4)
    model = make(raw)
    assert model.arch == SPACE.canonical(raw)
    assert model.arch["se"] == "null"


def test_extended_values_build_without_a_space():
    model = make(base_arch(input_width=16, temporal_kernel_size=11))
    assert model.plan.branch_modules[0].out_channels == 16 * 2
    with pytest.raises(ValueError, match="positive odd int"):
        make(base_arch(temporal_kernel_size=4))


def test_data_bn_normalises_each_joint_channel_pair():
    model = make(base_arch())
    x = torch.zeros(2, CHANNELS, FRAMES, JOINTS)
    x[:, 4, :, 7] = 3.0  # channel 4 of joint 7
    model(x)
    expected = torch.zeros(CHANNELS * JOINTS)
    expected[7 * CHANNELS + 4] = 0.1 * 3.0  # momentum 0.1, feature index v * C + c
    torch.testing.assert_close(model.data_bn.running_mean, expected)


def test_mbconv_outer_se_quirk_adds_exactly_the_ratio_one_se():
    # mbconv main block of width 6 with 2 scales, no SE requested: the original still applies
    # an SE of ratio 1 (two 6 x 6 linear maps) after the fusion.
    arch = base_arch(block_type="mbconv", main_temporal_scales=2, se="null")
    faithful = make(arch)
    fixed = make(arch, options=ModelOptions(mbconv_outer_se_quirk=False))
    assert count_parameters(faithful) - count_parameters(fixed) == 2 * 6 * 6


def test_true_distance_option_changes_only_the_spatial_partition():
    fixed = make(base_arch(), options=ModelOptions(spatial_partition_true_distance=True))
    counts = [int(torch.count_nonzero(a)) for a in fixed.adjacency_input]
    assert counts == [19, 18, 18]
    assert count_parameters(fixed) == count_parameters(make(base_arch()))


def test_one_input_branch_takes_all_channels_and_skips_fusion():
    options = ModelOptions(num_input_branches=1)
    model = make(base_arch(), options=options, in_channels=2)
    assert model.fusion is None and len(model.input_branches) == 1
    x = torch.randn(2, 2, FRAMES, JOINTS)
    assert model(x)[0].shape == (2, CLASSES)


def test_other_layouts_and_channel_counts():
    torch.manual_seed(0)
    model = build_model(base_arch(), layout="kinect20", in_channels=9, num_classes=20)
    logits, features = model(torch.randn(2, 9, 16, 20))
    assert logits.shape == (2, 20) and features.shape[-1] == 20


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_forward_and_backward():
    model = make(ARCHS[0]).cuda()
    logits, _ = model(batch().cuda())
    logits.sum().backward()
    assert logits.device.type == "cuda"


# ------------------------------------------------------------------ blocks against references


def test_graph_conv_matches_explicit_sums():
    torch.manual_seed(0)
    conv = GraphConv(3, 4, num_subsets=2, num_joints=5)
    with torch.no_grad():
        conv.edge_importance.uniform_(0.5, 1.5)
    x = torch.randn(2, 3, 6, 5)
    adjacency = torch.rand(2, 5, 5)
    y = conv.conv(x).view(2, 2, 4, 6, 5)
    effective = adjacency * conv.edge_importance
    expected = torch.zeros(2, 4, 6, 5)
    for k in range(2):
        for v in range(5):
            for w in range(5):
                expected[:, :, :, w] += y[:, k, :, :, v] * effective[k, v, w]
    torch.testing.assert_close(conv(x, adjacency), expected)


def test_squeeze_excitation_with_zero_weights_halves_the_input():
    se = SqueezeExcitation(8, 2, "relu")
    with torch.no_grad():
        se.expand.weight.zero_()
    x = torch.randn(2, 8, 5, 3)
    torch.testing.assert_close(se(x), 0.5 * x)  # sigmoid(0) = 1/2
    assert se.reduce.weight.shape == (4, 8) and se.reduce.bias is None


def test_attention_weights_shapes_and_normalisation():
    x = torch.randn(3, 8, 10, JOINTS)
    channel = ChannelWeights(8, JOINTS, 5, "relu")(x)
    joint = JointWeights(8, JOINTS, 5, "swish")(x)
    frame = FrameWeights(8, JOINTS, 5, "relu")(x)
    assert channel.shape == (3, 8, 1, 1) and joint.shape == (3, 1, 1, JOINTS)
    assert frame.shape == (3, 1, 10, 1)
    torch.testing.assert_close(channel.sum(dim=1), torch.ones(3, 1, 1))
    torch.testing.assert_close(joint.sum(dim=3), torch.ones(3, 1, 1))


def test_spatial_head_flattens_channel_major():
    head = SpatialPoolHead(channels=3, num_joints=4, num_classes=2)
    with torch.no_grad():
        for p in head.parameters():
            p.zero_()
        head.joint_mixer.weight[0, 1 * 4 + 2] = 1.0  # picks channel 1, joint 2
        head.classifier.weight[1, 0] = 1.0
    features = torch.zeros(2, 3, 5, 4)
    features[:, 1, :, 2] = torch.arange(5.0)  # mean over time = 2
    torch.testing.assert_close(head(features), torch.tensor([[0.0, 2.0], [0.0, 2.0]]))


def test_initialisation_follows_the_original():
    model = make(ARCHS[1])
    for name, parameter in model.named_parameters():
        if name.endswith("edge_importance"):
            assert torch.equal(parameter, torch.ones_like(parameter))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            assert torch.equal(module.weight, torch.ones_like(module.weight))
            assert torch.equal(module.bias, torch.zeros_like(module.bias))


def test_clamped_reductions_warn():
    from gcn_models.layers import ArchitectureWarning

    with pytest.warns(ArchitectureWarning, match="squeeze-excitation: 12 channels // 64 is 0"):
        model = make(base_arch(se="inner", se_ratio=64))
    assert model(batch())[0].shape == (2, CLASSES)
