package imaging

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
)

// onnxIRVersion is the ONNX IR version that goes with opset 13.
const onnxIRVersion = 7

// MarshalONNX writes the encoder as an ONNX model (IR version 7, default
// opset 13): input Spec().InputName of shape [N, 1, D, H, W] float32 with a
// symbolic batch dimension "N", output Spec().OutputName of shape
// [N, OutputDim]. The graph is Conv → Relu [→ MaxPool] per layer, then
// GlobalAveragePool and Flatten. Weights are stored as little-endian
// raw_data initializers. The bytes are deterministic: the same encoder
// always marshals to the same file.
func (e *Encoder) MarshalONNX() ([]byte, error) {
	s := e.spec
	g := &onnx.GraphProto{
		Name:      s.Name,
		DocString: s.Weights,
		Input:     []*onnx.ValueInfoProto{tensorValueInfo(s.InputName, "N", 1, int64(s.PatchSize[2]), int64(s.PatchSize[1]), int64(s.PatchSize[0]))},
		Output:    []*onnx.ValueInfoProto{tensorValueInfo(s.OutputName, "N", int64(e.layers[len(e.layers)-1].out))},
	}
	x := s.InputName
	for i, l := range e.layers {
		wName, bName := fmt.Sprintf("conv%d.weight", i+1), fmt.Sprintf("conv%d.bias", i+1)
		g.Initializer = append(g.Initializer,
			floatTensor(wName, l.w, int64(l.out), int64(l.in), kernel, kernel, kernel),
			floatTensor(bName, l.b, int64(l.out)))
		conv, relu := fmt.Sprintf("conv%d", i+1), fmt.Sprintf("relu%d", i+1)
		g.Node = append(g.Node,
			&onnx.NodeProto{
				Name: conv, OpType: "Conv", Input: []string{x, wName, bName}, Output: []string{conv},
				Attribute: []*onnx.AttributeProto{
					intsAttr("kernel_shape", kernel, kernel, kernel),
					intsAttr("pads", 1, 1, 1, 1, 1, 1),
					intsAttr("strides", 1, 1, 1),
				},
			},
			&onnx.NodeProto{Name: relu, OpType: "Relu", Input: []string{conv}, Output: []string{relu}})
		x = relu
		if l.pool {
			pool := fmt.Sprintf("pool%d", i+1)
			g.Node = append(g.Node, &onnx.NodeProto{
				Name: pool, OpType: "MaxPool", Input: []string{x}, Output: []string{pool},
				Attribute: []*onnx.AttributeProto{
					intsAttr("kernel_shape", 2, 2, 2),
					intsAttr("strides", 2, 2, 2),
				},
			})
			x = pool
		}
	}
	g.Node = append(g.Node,
		&onnx.NodeProto{Name: "gap", OpType: "GlobalAveragePool", Input: []string{x}, Output: []string{"gap"}},
		&onnx.NodeProto{
			Name: "flatten", OpType: "Flatten", Input: []string{"gap"}, Output: []string{s.OutputName},
			Attribute: []*onnx.AttributeProto{{Name: "axis", Type: onnx.AttributeProto_INT, I: 1}},
		})
	m := &onnx.ModelProto{
		IrVersion:       onnxIRVersion,
		OpsetImport:     []*onnx.OperatorSetIdProto{{Domain: "", Version: int64(s.Opset)}},
		ProducerName:    "spinecast",
		ProducerVersion: s.Version,
		Domain:          "org.spinecast.imaging",
		ModelVersion:    1,
		DocString:       "Spinecast imaging encoder " + s.Name + " " + s.Version,
		Graph:           g,
		MetadataProps: []*onnx.StringStringEntryProto{
			{Key: "spinecast.encoder", Value: s.Name},
			{Key: "spinecast.normalisation", Value: s.Normalisation},
			{Key: "spinecast.clip", Value: strconv.FormatFloat(s.Clip, 'g', -1, 64)},
			{Key: "spinecast.spacing_mm", Value: fmt.Sprintf("%g,%g,%g", s.Spacing[0], s.Spacing[1], s.Spacing[2])},
			{Key: "spinecast.patch_size", Value: fmt.Sprintf("%d,%d,%d", s.PatchSize[0], s.PatchSize[1], s.PatchSize[2])},
		},
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("imaging: marshal encoder %s: %w", s.Name, err)
	}
	return b, nil
}

func tensorValueInfo(name, batch string, dims ...int64) *onnx.ValueInfoProto {
	shape := &onnx.TensorShapeProto{}
	shape.Dim = append(shape.Dim, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: batch}})
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnx.ValueInfoProto{
		Name: name,
		Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{
			ElemType: int32(onnx.TensorProto_FLOAT),
			Shape:    shape,
		}}},
	}
}

func floatTensor(name string, v []float32, dims ...int64) *onnx.TensorProto {
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return &onnx.TensorProto{Name: name, Dims: dims, DataType: int32(onnx.TensorProto_FLOAT), RawData: raw}
}

func intsAttr(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}
