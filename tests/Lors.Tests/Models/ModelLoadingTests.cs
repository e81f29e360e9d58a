// Loading a Hugging Face folder: every malformed case is an error naming the folder and the tensor; save + load
// round-trips exactly; a config.json in the transformers 4.x form loads the same model.
using System.Text.Json.Nodes;
using Lors.Models.Formats;
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Tests.Models;

public sealed class ModelLoadingTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lors-model-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    /// <summary>A copy of the fixture folder whose weights file is rewritten by <paramref name="edit"/>.</summary>
    private string CopyWith(Func<List<TensorToWrite>, List<TensorToWrite>> edit)
    {
        Directory.CreateDirectory(_dir);
        foreach (var f in Directory.GetFiles(RepoPaths.TinyModel)) File.Copy(f, Path.Combine(_dir, Path.GetFileName(f)), true);
        using (var src = SafetensorsFile.Open(Path.Combine(RepoPaths.TinyModel, "model.safetensors")))
        {
            var list = src.Entries.Select(e => new TensorToWrite(e.Name, e.DType, e.Shape, src.GetBytes(e).ToArray())).ToList();
            SafetensorsWriter.Write(Path.Combine(_dir, "model.safetensors"), edit(list));
        }
        return _dir;
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        var dir = CopyWith(l => l.Where(t => t.Name != "model.layers.3.mlp.up_proj.weight").ToList());
        var e = Assert.Throws<InvalidDataException>(() => LlamaModel.Load(dir));
        Assert.Contains("model.layers.3.mlp.up_proj.weight", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void ExtraTensorIsNamed()
    {
        var dir = CopyWith(l => [.. l, new TensorToWrite("model.layers.9.mlp.up_proj.weight", SafeDType.F32, [1], new byte[4])]);
        var e = Assert.Throws<ConfigFormatException>(() => LlamaModel.Load(dir));
        Assert.Contains("num_hidden_layers", e.Message);
        Assert.Contains("model.layers.9.mlp.up_proj.weight", e.Message);
    }

    [Fact]
    public void ShapeDisagreeingWithConfigIsNamed()
    {
        var dir = CopyWith(l => l.Select(t => t.Name == "model.norm.weight" ? new TensorToWrite(t.Name, SafeDType.F32, [128], new byte[512]) : t).ToList());
        var e = Assert.Throws<InvalidDataException>(() => LlamaModel.Load(dir));
        Assert.Contains("model.norm.weight", e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void IntegerWeightsAreRejected()
    {
        var dir = CopyWith(l => l.Select(t => t.Name == "model.norm.weight" ? new TensorToWrite(t.Name, SafeDType.I32, [256], new byte[1024]) : t).ToList());
        var e = Assert.Throws<InvalidDataException>(() => LlamaModel.Load(dir));
        Assert.Contains("model.norm.weight", e.Message);
    }

    [Fact]
    public void InvalidConfigJsonIsAnError()
    {
        var dir = CopyWith(l => l);
        File.WriteAllText(Path.Combine(dir, "config.json"), "{ \"hidden_size\": 256, ");
        Assert.Throws<ConfigFormatException>(() => LlamaModel.Load(dir));
    }

    [Fact]
    public void SaveThenLoadIsExactAndTransformers4xConfigLoadsTheSameModel()
    {
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        model.Save(_dir, copyFrom: RepoPaths.TinyModel);
        using var again = LlamaModel.Load(_dir);
        foreach (var ((name, a), (_, b)) in model.Parameters().Zip(again.Parameters()))
            Assert.True(a.Data.ToFloatArray().SequenceEqual(b.Data.ToFloatArray()), name);

        // The 4.x form: rope_theta and torch_dtype at the top level instead of rope_parameters and dtype.
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.TinyModel, "config.json")))!.AsObject();
        json.Remove("rope_parameters");
        json.Remove("dtype");
        json["rope_theta"] = 10000.0;
        json["torch_dtype"] = "bfloat16";
        File.WriteAllText(Path.Combine(_dir, "config.json"), json.ToJsonString());
        using var old = LlamaModel.Load(_dir);
        Assert.Equal(model.Config.RopeTheta, old.Config.RopeTheta);
        using var ids = Tensor.FromArray([0, 5, 17, 300], [1, 4]);
        using var _ = Lors.Autograd.GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        Assert.Equal(model.Forward(ids).Data.ToFloatArray(), old.Forward(ids).Data.ToFloatArray());
    }
}
