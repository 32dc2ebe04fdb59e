package main

import (
	"encoding/json"
	"fmt"
)

// apiStatus mirrors metav1.Status field for field (names, order, omitempty), so encoding/json produces the
// bytes kubelet's v4WriteStatusFunc does, including Go's \u003c-style escapes.
type apiStatus struct {
	Kind       string         `json:"kind,omitempty"`
	APIVersion string         `json:"apiVersion,omitempty"`
	Metadata   listMeta       `json:"metadata"`
	Status     string         `json:"status,omitempty"`
	Message    string         `json:"message,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Details    *statusDetails `json:"details,omitempty"`
	Code       int32          `json:"code,omitempty"`
}

type listMeta struct {
	SelfLink           string `json:"selfLink,omitempty"`
	ResourceVersion    string `json:"resourceVersion,omitempty"`
	Continue           string `json:"continue,omitempty"`
	RemainingItemCount *int64 `json:"remainingItemCount,omitempty"`
}

type statusDetails struct {
	Name              string        `json:"name,omitempty"`
	Group             string        `json:"group,omitempty"`
	Kind              string        `json:"kind,omitempty"`
	UID               string        `json:"uid,omitempty"`
	Causes            []statusCause `json:"causes,omitempty"`
	RetryAfterSeconds int32         `json:"retryAfterSeconds,omitempty"`
}

type statusCause struct {
	Type    string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	Field   string `json:"field,omitempty"`
}

func successStatus() *apiStatus { return &apiStatus{Status: "Success"} }

// exitStatus is ServeExec's NonZeroExitCode status; detail is Go's ExitError text ("exit status 3").
func exitStatus(code int, detail string) *apiStatus {
	return &apiStatus{
		Status:  "Failure",
		Message: "command terminated with non-zero exit code: " + detail,
		Reason:  "NonZeroExitCode",
		Details: &statusDetails{Causes: []statusCause{{Type: "ExitCode", Message: fmt.Sprint(code)}}},
	}
}

// internalError is apierrors.NewInternalError of ServeExec's "error executing command in container" error.
func internalError(err error) *apiStatus {
	inner := fmt.Sprintf("error executing command in container: %v", err)
	return &apiStatus{
		Status:  "Failure",
		Message: "Internal error occurred: " + inner,
		Reason:  "InternalError",
		Details: &statusDetails{Causes: []statusCause{{Message: inner}}},
		Code:    500,
	}
}

// encode is what goes on the error stream: v4 always one JSON Status; v1–v3 the message, only on failure.
func (st *apiStatus) encode(version int) []byte {
	if version >= 4 {
		b, err := json.Marshal(st)
		if err != nil {
			return []byte(`{"metadata":{},"status":"Failure","message":"status encoding failed","reason":"InternalError","code":500}`)
		}
		return b
	}
	if st.Status == "Success" {
		return nil
	}
	return []byte(st.Message)
}

func (st *apiStatus) summary() string {
	if st.Status == "Success" {
		return "success"
	}
	return st.Message
}
