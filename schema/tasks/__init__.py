"""The GraphQL face of staff tasks: myTasks, tasks, completeTask, reassignTask, taskAssigned."""
